//! v1 `cpuacct`: the cpu time used, for `--stats`.

use crate::cgroup::fs::CgroupDir;
use crate::cgroup::CgroupError;

/// `cpuacct.usage` is in nanoseconds.
pub(super) fn usage_us(dir: &CgroupDir) -> Result<Option<u64>, CgroupError> {
    let file = "cpuacct.usage";
    dir.has(file)
        .then(|| dir.read_u64(file).map(|ns| ns / 1000))
        .transpose()
}
