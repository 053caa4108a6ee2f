//! Did-you-mean: the one helper that validation and every importer use to
//! suggest a known name for a misspelt one.

/// The candidate closest to `input`, if it is close enough to be a likely
/// typo (case-insensitive Damerau-Levenshtein distance at most a third of
/// the longer name, and at most 3).
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let input = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&input, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 3 && *d * 3 <= input.chars().count().max(c.chars().count()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance (adjacent transpositions count as one).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["hostname", "domainname", "namespaces", "network"];
        assert_eq!(did_you_mean("hostnme", keys), Some("hostname"));
        assert_eq!(did_you_mean("HOSTNAME", keys), Some("hostname"));
        assert_eq!(did_you_mean("netwrok", keys), Some("network"));
        assert_eq!(did_you_mean("zzz", keys), None);
    }
}
