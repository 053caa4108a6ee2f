//! Syntax of network addresses: IP, CIDR, MAC.

use std::net::IpAddr;

/// An address with its prefix length (`10.0.3.2/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub ip: IpAddr,
    pub prefix: u8,
}

/// Why an address was refused, as a message fragment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("it has no prefix length")]
    NoPrefix,
    #[error("`{0}` is not an IPv4 or IPv6 address")]
    NotAnIp(String),
    #[error("the prefix length `{0}` is not a number from 0 to {1}")]
    Prefix(String, u8),
    #[error("a MAC address is six hexadecimal bytes separated by `:`")]
    MacSyntax,
    #[error("the least significant bit of the first byte is set: this is a multicast address")]
    MacMulticast,
    #[error("the all-zero MAC address is not a valid interface address")]
    MacZero,
}

pub fn parse_ip(text: &str) -> Result<IpAddr, AddressError> {
    text.parse::<IpAddr>()
        .map_err(|_| AddressError::NotAnIp(text.to_string()))
}

/// `ADDR/PREFIX`, prefix required.
pub fn parse_cidr(text: &str) -> Result<Cidr, AddressError> {
    let (ip, prefix) = text.split_once('/').ok_or(AddressError::NoPrefix)?;
    let ip = parse_ip(ip)?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = prefix
        .parse::<u8>()
        .ok()
        .filter(|p| *p <= max && !prefix.starts_with('+'))
        .ok_or_else(|| AddressError::Prefix(prefix.to_string(), max))?;
    Ok(Cidr { ip, prefix })
}

/// A unicast MAC address, returned lowercase and colon-separated.
pub fn parse_mac(text: &str) -> Result<String, AddressError> {
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() != 6
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(AddressError::MacSyntax);
    }
    let bytes: Vec<u8> = parts
        .iter()
        .map(|p| u8::from_str_radix(p, 16).expect("two hex digits"))
        .collect();
    if bytes.iter().all(|b| *b == 0) {
        return Err(AddressError::MacZero);
    }
    if bytes[0] & 1 == 1 {
        return Err(AddressError::MacMulticast);
    }
    Ok(text.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr() {
        assert!(parse_cidr("10.0.3.2/24").is_ok());
        assert!(parse_cidr("fe80::1/64").is_ok());
        assert_eq!(parse_cidr("10.0.3.2"), Err(AddressError::NoPrefix));
        assert!(matches!(
            parse_cidr("10.0.3.2/33"),
            Err(AddressError::Prefix(..))
        ));
        assert!(matches!(
            parse_cidr("10.0.300.2/24"),
            Err(AddressError::NotAnIp(_))
        ));
    }

    #[test]
    fn mac() {
        assert_eq!(
            parse_mac("00:16:3E:c6:0e:04").as_deref(),
            Ok("00:16:3e:c6:0e:04")
        );
        assert_eq!(
            parse_mac("01:00:5e:00:00:01"),
            Err(AddressError::MacMulticast)
        );
        assert_eq!(parse_mac("00:16:3e:c6:0e"), Err(AddressError::MacSyntax));
        assert_eq!(parse_mac("00:00:00:00:00:00"), Err(AddressError::MacZero));
    }
}
