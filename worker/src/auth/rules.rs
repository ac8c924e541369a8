//! Access rules in the spirit of `pg_hba.conf`: an ordered list, and the first rule whose
//! connection type, database, user and address match decides the method. No match means
//! the connection is refused.
//!
//! [`RuleSpec`] is a rule as the config file spells it; [`Rule`] is the checked form the
//! worker matches with. The worker config carries rules as specs, so both processes read
//! them through the same checks.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// Which connections a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnType {
    /// The unix-domain socket.
    Local,
    /// TCP, with or without TLS.
    Host,
    /// TCP with TLS.
    HostSsl,
    /// TCP without TLS.
    HostNoSsl,
}

impl ConnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnType::Local => "local",
            ConnType::Host => "host",
            ConnType::HostSsl => "hostssl",
            ConnType::HostNoSsl => "hostnossl",
        }
    }
}

/// How a matching connection authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Let in without a password.
    Trust,
    /// Refuse.
    Reject,
    /// SCRAM-SHA-256 against the users file.
    ScramSha256,
    /// A cleartext password, checked against the users file; only over TLS or the unix
    /// socket, so the password never crosses a network in the clear.
    Password,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Trust => "trust",
            Method::Reject => "reject",
            Method::ScramSha256 => "scram-sha-256",
            Method::Password => "password",
        }
    }

    /// Whether the method checks a password against the users file.
    pub fn needs_users(self) -> bool {
        matches!(self, Method::ScramSha256 | Method::Password)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The databases or users a rule is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Names {
    All,
    Only(Vec<String>),
}

impl Names {
    fn matches(&self, name: &str) -> bool {
        match self {
            Names::All => true,
            Names::Only(names) => names.iter().any(|n| n == name),
        }
    }
}

/// The client addresses a TCP rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    All,
    Net { addr: IpAddr, prefix: u8 },
}

impl Address {
    fn matches(self, ip: IpAddr) -> bool {
        let (addr, prefix) = match self {
            Address::All => return true,
            Address::Net { addr, prefix } => (addr, prefix),
        };
        match (addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::All => f.write_str("all"),
            Address::Net { addr, prefix } => write!(f, "{addr}/{prefix}"),
        }
    }
}

/// An IPv4 client on an IPv6 socket arrives as `::ffff:a.b.c.d`; rules about IPv4
/// networks must still match it.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One checked rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RuleSpec", into = "RuleSpec")]
pub struct Rule {
    pub conn_type: ConnType,
    pub databases: Names,
    pub users: Names,
    /// `None` for `local` rules.
    pub address: Option<Address>,
    pub method: Method,
}

/// A rule as written in the config file:
/// `{ type = "host", database = "all", user = "alice,bob", address = "10.0.0.0/8", method = "scram-sha-256" }`.
/// `database` and `user` take `all`, a name, a comma-separated list or an array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    #[serde(rename = "type")]
    pub conn_type: String,
    pub database: NameList,
    pub user: NameList,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub method: String,
}

/// `"all"`, `"a,b"` or `["a", "b"]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NameList {
    One(String),
    Many(Vec<String>),
}

/// What is wrong with a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("unknown type {0:?}: use local, host, hostssl or hostnossl")]
    Type(String),
    #[error("unknown method {0:?}: use trust, reject, scram-sha-256 or password")]
    Method(String),
    #[error("`{field}` is empty")]
    EmptyNames { field: &'static str },
    #[error("`{field}` mixes \"all\" with names")]
    AllWithNames { field: &'static str },
    #[error("`local` rules are about the unix socket and take no `address`")]
    LocalAddress,
    #[error("`{0}` rules need an `address` (a CIDR such as \"10.0.0.0/8\", or \"all\")")]
    MissingAddress(&'static str),
    #[error(
        "invalid address {0:?}: use an IP address, a CIDR such as \"10.0.0.0/8\" or \"::1/128\", or \"all\""
    )]
    Address(String),
    #[error("method `password` sends the password in the clear and is refused on connections without TLS, so a `hostnossl` rule with it could never let anyone in")]
    PasswordWithoutTls,
}

impl TryFrom<RuleSpec> for Rule {
    type Error = RuleError;

    fn try_from(spec: RuleSpec) -> Result<Rule, RuleError> {
        let conn_type = match spec.conn_type.as_str() {
            "local" => ConnType::Local,
            "host" => ConnType::Host,
            "hostssl" => ConnType::HostSsl,
            "hostnossl" => ConnType::HostNoSsl,
            other => return Err(RuleError::Type(other.to_owned())),
        };
        let method = match spec.method.as_str() {
            "trust" => Method::Trust,
            "reject" => Method::Reject,
            "scram-sha-256" => Method::ScramSha256,
            "password" => Method::Password,
            other => return Err(RuleError::Method(other.to_owned())),
        };
        let address = match (conn_type, spec.address.as_deref()) {
            (ConnType::Local, None) => None,
            (ConnType::Local, Some(_)) => return Err(RuleError::LocalAddress),
            (t, None) => return Err(RuleError::MissingAddress(t.as_str())),
            (_, Some(text)) => Some(parse_address(text)?),
        };
        if conn_type == ConnType::HostNoSsl && method == Method::Password {
            return Err(RuleError::PasswordWithoutTls);
        }
        Ok(Rule {
            conn_type,
            databases: names(spec.database, "database")?,
            users: names(spec.user, "user")?,
            address,
            method,
        })
    }
}

impl From<Rule> for RuleSpec {
    fn from(rule: Rule) -> RuleSpec {
        let list = |n: Names| match n {
            Names::All => NameList::One("all".into()),
            Names::Only(v) => NameList::Many(v),
        };
        RuleSpec {
            conn_type: rule.conn_type.as_str().into(),
            database: list(rule.databases),
            user: list(rule.users),
            address: rule.address.map(|a| a.to_string()),
            method: rule.method.as_str().into(),
        }
    }
}

fn names(list: NameList, field: &'static str) -> Result<Names, RuleError> {
    let items: Vec<String> = match list {
        NameList::One(s) => s.split(',').map(|n| n.trim().to_owned()).collect(),
        NameList::Many(v) => v,
    };
    if items.is_empty() || items.iter().any(String::is_empty) {
        return Err(RuleError::EmptyNames { field });
    }
    match items.iter().any(|n| n == "all") {
        true if items.len() == 1 => Ok(Names::All),
        true => Err(RuleError::AllWithNames { field }),
        false => Ok(Names::Only(items)),
    }
}

fn parse_address(text: &str) -> Result<Address, RuleError> {
    if text == "all" {
        return Ok(Address::All);
    }
    let bad = || RuleError::Address(text.to_owned());
    let (ip, prefix) = match text.split_once('/') {
        Some((ip, prefix)) => (ip, Some(prefix)),
        None => (text, None),
    };
    let addr: IpAddr = ip.parse().map_err(|_| bad())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse::<u8>().ok().filter(|&p| p <= max).ok_or_else(bad)?
        }
        Some(_) => return Err(bad()),
    };
    Ok(Address::Net { addr: canonical(addr), prefix })
}

/// A connection as the rules see it.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    /// `None` on the unix socket.
    pub ip: Option<IpAddr>,
    pub tls: bool,
    pub user: &'a str,
    pub database: &'a str,
}

impl Rule {
    fn matches(&self, c: &Client<'_>) -> bool {
        let type_ok = match (self.conn_type, c.ip) {
            (ConnType::Local, ip) => ip.is_none(),
            (_, None) => false,
            (ConnType::Host, Some(_)) => true,
            (ConnType::HostSsl, Some(_)) => c.tls,
            (ConnType::HostNoSsl, Some(_)) => !c.tls,
        };
        type_ok
            && self.databases.matches(c.database)
            && self.users.matches(c.user)
            && match (self.address, c.ip) {
                (Some(a), Some(ip)) => a.matches(ip),
                _ => true,
            }
    }
}

/// The first rule that matches `client`.
pub fn first_match<'r>(rules: &'r [Rule], client: &Client<'_>) -> Option<&'r Rule> {
    rules.iter().find(|r| r.matches(client))
}

/// The rules when the config has none: trust the unix socket and loopback, nothing else.
pub fn default_rules() -> Vec<Rule> {
    let rule = |conn_type, address| Rule {
        conn_type,
        databases: Names::All,
        users: Names::All,
        address,
        method: Method::Trust,
    };
    vec![
        rule(ConnType::Local, None),
        rule(ConnType::Host, Some(Address::Net { addr: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), prefix: 8 })),
        rule(ConnType::Host, Some(Address::Net { addr: IpAddr::V6(Ipv6Addr::LOCALHOST), prefix: 128 })),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(toml: &str) -> Result<Rule, RuleError> {
        let spec: RuleSpec = toml::from_str(toml).expect("a rule spec");
        Rule::try_from(spec)
    }

    fn tcp(ip: &str, tls: bool, user: &'static str) -> Client<'static> {
        Client { ip: Some(ip.parse().unwrap()), tls, user, database: "mallard" }
    }

    const LOCAL: Client<'static> = Client { ip: None, tls: false, user: "u", database: "mallard" };

    #[test]
    fn default_rules_trust_only_loopback_and_the_socket() {
        let rules = default_rules();
        for c in [
            LOCAL,
            tcp("127.0.0.1", false, "u"),
            tcp("127.9.9.9", false, "u"),
            tcp("::1", false, "u"),
            tcp("::ffff:127.0.0.1", false, "u"),
        ] {
            assert_eq!(first_match(&rules, &c).map(|r| r.method), Some(Method::Trust), "{c:?}");
        }
        for c in [
            tcp("10.1.2.3", false, "u"),
            tcp("128.0.0.1", true, "u"),
            tcp("::2", false, "u"),
            tcp("fe80::1", false, "u"),
        ] {
            assert!(first_match(&rules, &c).is_none(), "{c:?}");
        }
    }

    #[test]
    fn first_match_wins_and_every_field_counts() {
        let rules: Vec<Rule> = [
            r#"type = "hostssl"
               database = "all"
               user = "all"
               address = "0.0.0.0/0"
               method = "scram-sha-256""#,
            r#"type = "host"
               database = "mallard"
               user = ["alice", "bob"]
               address = "10.0.0.0/8"
               method = "password""#,
            r#"type = "hostnossl"
               database = "other,mallard"
               user = "carol"
               address = "10.1.0.0/16"
               method = "trust""#,
            r#"type = "host"
               database = "all"
               user = "all"
               address = "all"
               method = "reject""#,
        ]
        .iter()
        .map(|t| rule(t).unwrap())
        .collect();
        let method = |c: Client<'_>| first_match(&rules, &c).map(|r| r.method);
        assert_eq!(method(tcp("10.1.1.1", true, "carol")), Some(Method::ScramSha256));
        assert_eq!(method(tcp("10.1.1.1", false, "alice")), Some(Method::Password));
        assert_eq!(method(tcp("10.1.1.1", false, "carol")), Some(Method::Trust));
        assert_eq!(method(tcp("10.2.1.1", false, "carol")), Some(Method::Reject));
        assert_eq!(method(tcp("11.1.1.1", false, "alice")), Some(Method::Reject));
        assert_eq!(method(tcp("::ffff:10.1.1.1", false, "carol")), Some(Method::Trust));
        assert_eq!(method(LOCAL), None);
        let other_db = Client { database: "x", ..tcp("10.1.1.1", false, "alice") };
        assert_eq!(first_match(&rules, &other_db).map(|r| r.method), Some(Method::Reject));
    }

    #[test]
    fn ipv6_networks_and_host_bits() {
        let r =
            rule("type='host'\ndatabase='all'\nuser='all'\naddress='fd00:1::5/32'\nmethod='trust'").unwrap();
        assert!(r.matches(&tcp("fd00:1:ffff::1", false, "u")));
        assert!(!r.matches(&tcp("fd01::1", false, "u")));
        assert!(!r.matches(&tcp("10.0.0.1", false, "u")));
        let r =
            rule("type='host'\ndatabase='all'\nuser='all'\naddress='192.168.1.7'\nmethod='trust'").unwrap();
        assert!(r.matches(&tcp("192.168.1.7", false, "u")) && !r.matches(&tcp("192.168.1.8", false, "u")));
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        let base = |kind: &str, address: &str, method: &str| {
            format!("type='{kind}'\ndatabase='all'\nuser='all'\n{address}method='{method}'")
        };
        let addr = "address='all'\n";
        assert_eq!(rule(&base("hots", addr, "trust")), Err(RuleError::Type("hots".into())));
        assert_eq!(rule(&base("host", addr, "md5")), Err(RuleError::Method("md5".into())));
        assert_eq!(rule(&base("host", "", "trust")), Err(RuleError::MissingAddress("host")));
        assert_eq!(rule(&base("local", addr, "trust")), Err(RuleError::LocalAddress));
        assert_eq!(rule(&base("hostnossl", addr, "password")), Err(RuleError::PasswordWithoutTls));
        for bad in
            ["10.0.0.0/33", "::1/129", "10.0.0/8", "10.0.0.0/", "10.0.0.0/x", "localhost", "10.0.0.0/+8"]
        {
            let text = base("host", &format!("address='{bad}'\n"), "trust");
            assert_eq!(rule(&text), Err(RuleError::Address(bad.into())), "{bad}");
        }
        let names = |user: &str| rule(&format!("type='local'\ndatabase='all'\nuser={user}\nmethod='trust'"));
        assert_eq!(names("''"), Err(RuleError::EmptyNames { field: "user" }));
        assert_eq!(names("'a,,b'"), Err(RuleError::EmptyNames { field: "user" }));
        assert_eq!(names("[]"), Err(RuleError::EmptyNames { field: "user" }));
        assert_eq!(names("'all,bob'"), Err(RuleError::AllWithNames { field: "user" }));
        assert!(toml::from_str::<RuleSpec>(
            "type='local'\ndatabase='all'\nuser='all'\nmethod='trust'\nextra=1"
        )
        .is_err());
    }

    #[test]
    fn rules_survive_the_worker_config_round_trip() {
        #[derive(Serialize, Deserialize)]
        struct Wrap {
            rules: Vec<Rule>,
        }
        let mut rules = default_rules();
        rules.push(
            rule("type='hostssl'\ndatabase='a, b'\nuser=['x']\naddress='fd00::/8'\nmethod='password'")
                .unwrap(),
        );
        let text = toml::to_string(&Wrap { rules: rules.clone() }).unwrap();
        let back: Wrap = toml::from_str(&text).unwrap();
        assert_eq!(back.rules, rules);
    }
}
