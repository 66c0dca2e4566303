//! Every setting the function reads, defined once: its name, default, bounds and
//! meaning. The parser (`super`) reads each value through its definition here, and a
//! test holds `docs/configuration.md` to this table, so neither can drift.

/// A whole number within bounds.
#[derive(Debug, Clone, Copy)]
pub struct Number {
    pub name: &'static str,
    pub default: i64,
    pub min: i64,
    pub max: i64,
    pub meaning: &'static str,
}

/// `true` or `false`.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    pub name: &'static str,
    pub default: bool,
    pub meaning: &'static str,
}

/// Free text, checked by its own rule in the parser.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    pub name: &'static str,
    pub default: TextDefault,
    pub meaning: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextDefault {
    /// The function cannot start without it.
    Required,
    /// This literal value.
    Value(&'static str),
    /// Unset means what this says (a derived value, or nothing at all).
    Unset(&'static str),
}

/// Any of them, for the docs check and the list of every setting.
#[derive(Debug, Clone, Copy)]
pub enum Setting {
    Number(Number),
    Flag(Flag),
    Text(Text),
}

impl Setting {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Number(n) => n.name,
            Self::Flag(f) => f.name,
            Self::Text(t) => t.name,
        }
    }

    /// The Default column of `docs/configuration.md`, exactly.
    pub fn documented_default(&self) -> String {
        match self {
            Self::Number(n) => format!("`{}`", n.default),
            Self::Flag(f) => format!("`{}`", f.default),
            Self::Text(t) => match t.default {
                TextDefault::Required => "**required**".to_owned(),
                TextDefault::Value(v) => format!("`{v}`"),
                TextDefault::Unset(text) => text.to_owned(),
            },
        }
    }

    /// What the docs must say of its bounds (`1–1440`), if it has any.
    pub fn documented_bounds(&self) -> Option<String> {
        match self {
            Self::Number(n) => Some(format!("{}–{}", n.min, n.max)),
            _ => None,
        }
    }

    pub fn meaning(&self) -> &'static str {
        match self {
            Self::Number(n) => n.meaning,
            Self::Flag(f) => f.meaning,
            Self::Text(t) => t.meaning,
        }
    }
}

const fn required(name: &'static str, meaning: &'static str) -> Text {
    Text {
        name,
        default: TextDefault::Required,
        meaning,
    }
}

const fn text(name: &'static str, default: &'static str, meaning: &'static str) -> Text {
    Text {
        name,
        default: TextDefault::Value(default),
        meaning,
    }
}

const fn unset(name: &'static str, means: &'static str, meaning: &'static str) -> Text {
    Text {
        name,
        default: TextDefault::Unset(means),
        meaning,
    }
}

const fn number(
    name: &'static str,
    default: i64,
    min: i64,
    max: i64,
    meaning: &'static str,
) -> Number {
    Number {
        name,
        default,
        min,
        max,
        meaning,
    }
}

const fn flag(name: &'static str, default: bool, meaning: &'static str) -> Flag {
    Flag {
        name,
        default,
        meaning,
    }
}

pub const SCHEDULER_ROLE_ARN: Text = required(
    "SCHEDULER_ROLE_ARN",
    "the ARN of the IAM role EventBridge Scheduler assumes to invoke this function",
);
pub const SCHEDULE_GROUP: Text = text(
    "SCHEDULE_GROUP",
    "dkim-autopilot",
    "schedule group of the follow-ups and deferrals (must exist)",
);
pub const SCHEDULER_DEAD_LETTER_ARN: Text = unset(
    "SCHEDULER_DEAD_LETTER_ARN",
    "none",
    "SQS queue for schedules Scheduler could not deliver",
);
pub const DKIM_RECORD_TTL: Number =
    number("DKIM_RECORD_TTL", 1800, 60, 172_800, "CNAME TTL in seconds");
pub const SES_REGION: Text = unset(
    "SES_REGION",
    "the function's region",
    "where SES identities live",
);
pub const DKIM_RECORD_DOMAIN: Text = unset(
    "DKIM_RECORD_DOMAIN",
    "from the table",
    "CNAME target when SES names no signing zone",
);
pub const DKIM_KEY_LENGTH: Text = text(
    "DKIM_KEY_LENGTH",
    "2048",
    "Easy DKIM key length of verified identities' next key: 2048, 1024 or keep",
);
pub const SES_REPLICA_REGIONS: Text = unset(
    "SES_REPLICA_REGIONS",
    "none",
    "Regions that get a DEED replica of every verified identity, comma-separated",
);
pub const FIRST_CHECK_DELAY_MINUTES: Number = number(
    "FIRST_CHECK_DELAY_MINUTES",
    5,
    1,
    24 * 60,
    "minutes from publishing to the first check",
);
pub const VERIFICATION_DEADLINE_HOURS: Number = number(
    "VERIFICATION_DEADLINE_HOURS",
    72,
    1,
    14 * 24,
    "how long a domain may stay unverified",
);
pub const MAX_VERIFICATION_RESTARTS: Number = number(
    "MAX_VERIFICATION_RESTARTS",
    3,
    0,
    10,
    "restarts of a failed verification before giving up",
);
pub const EVENT_BUS_NAME: Text = unset("EVENT_BUS_NAME", "default bus", "bus for outcome events");
pub const RESERVED_CONCURRENCY: Number = number(
    "RESERVED_CONCURRENCY",
    1,
    1,
    1000,
    "processes that may run at once; each paces itself at 1/N of each budget",
);
pub const SES_CALLS_PER_SECOND: Number = number(
    "SES_CALLS_PER_SECOND",
    1,
    1,
    100,
    "account budget of each SES v1 identity API",
);
pub const ROUTE53_CALLS_PER_SECOND: Number = number(
    "ROUTE53_CALLS_PER_SECOND",
    5,
    1,
    100,
    "account budget of all Route 53 APIs together",
);
pub const PACE_MARGIN_PERCENT: Number = number(
    "PACE_MARGIN_PERCENT",
    4,
    0,
    50,
    "how far below each budget to stay",
);
pub const MAX_DEFERRALS: Number = number(
    "MAX_DEFERRALS",
    6,
    1,
    20,
    "deferrals of one piece of work before it is reported failed",
);
pub const DEFERRAL_DELAY_SECONDS: Number = number(
    "DEFERRAL_DELAY_SECONDS",
    120,
    60,
    3600,
    "delay of the first deferral; it doubles, up to an hour",
);
pub const DOMAIN_INCLUDE: Text = unset(
    "DOMAIN_INCLUDE",
    "every domain",
    "domain suffixes the function may touch",
);
pub const DOMAIN_EXCLUDE: Text = unset(
    "DOMAIN_EXCLUDE",
    "none",
    "domain suffixes it must leave alone; wins over DOMAIN_INCLUDE",
);
pub const HOSTED_ZONE_IDS: Text = unset(
    "HOSTED_ZONE_IDS",
    "(empty)",
    "the only hosted zones the function may touch",
);
pub const DELETE_IDENTITY_ON_OFFBOARD: Flag = flag(
    "DELETE_IDENTITY_ON_OFFBOARD",
    true,
    "offboarding deletes the SES identity too",
);
pub const DELETE_ORPHANED_IDENTITIES: Flag = flag(
    "DELETE_ORPHANED_IDENTITIES",
    false,
    "a reconcile deletes identities whose zone is gone",
);
pub const RECONCILE_PAGE_SIZE: Number = number(
    "RECONCILE_PAGE_SIZE",
    100,
    1,
    100,
    "zones or identities per reconcile invocation",
);
pub const DEFAULT_DNS_MODE: Text = text(
    "DEFAULT_DNS_MODE",
    "route53",
    "where a custom event's records go when it does not say",
);
pub const DNS_RESOLVERS: Text = unset(
    "DNS_RESOLVERS",
    "the system's (`/etc/resolv.conf`)",
    "resolvers for the hand-over's public DNS lookups",
);
pub const ROUTE53_ROLE_ARN: Text = unset(
    "ROUTE53_ROLE_ARN",
    "none",
    "role every Route 53 call goes through, for zones in another account",
);
pub const ROUTE53_EXTERNAL_ID: Text = unset(
    "ROUTE53_EXTERNAL_ID",
    "none",
    "external id sent when assuming ROUTE53_ROLE_ARN",
);
pub const MAIL_FROM_SUBDOMAIN: Text = unset(
    "MAIL_FROM_SUBDOMAIN",
    "off",
    "one DNS label: the custom MAIL FROM domain `<label>.<domain>`, with its MX and SPF TXT",
);
pub const MAIL_FROM_BEHAVIOR_ON_MX_FAILURE: Text = text(
    "MAIL_FROM_BEHAVIOR_ON_MX_FAILURE",
    "UseDefaultValue",
    "what SES does with mail when it cannot find the MAIL FROM MX",
);
pub const DMARC_POLICY: Text = text(
    "DMARC_POLICY",
    "off",
    "the DMARC record written at `_dmarc.<domain>`: off, none, quarantine or reject",
);
pub const DMARC_RUA: Text = unset(
    "DMARC_RUA",
    "none",
    "`mailto:` URIs for DMARC aggregate reports, comma-separated",
);

/// Every setting, in the order `docs/configuration.md` lists them.
pub const SETTINGS: &[Setting] = &[
    Setting::Text(SCHEDULER_ROLE_ARN),
    Setting::Text(SCHEDULE_GROUP),
    Setting::Number(DKIM_RECORD_TTL),
    Setting::Text(SES_REGION),
    Setting::Text(DKIM_RECORD_DOMAIN),
    Setting::Text(DKIM_KEY_LENGTH),
    Setting::Text(SES_REPLICA_REGIONS),
    Setting::Number(FIRST_CHECK_DELAY_MINUTES),
    Setting::Number(VERIFICATION_DEADLINE_HOURS),
    Setting::Number(MAX_VERIFICATION_RESTARTS),
    Setting::Text(EVENT_BUS_NAME),
    Setting::Text(SCHEDULER_DEAD_LETTER_ARN),
    Setting::Number(RESERVED_CONCURRENCY),
    Setting::Number(SES_CALLS_PER_SECOND),
    Setting::Number(ROUTE53_CALLS_PER_SECOND),
    Setting::Number(PACE_MARGIN_PERCENT),
    Setting::Number(MAX_DEFERRALS),
    Setting::Number(DEFERRAL_DELAY_SECONDS),
    Setting::Text(DOMAIN_INCLUDE),
    Setting::Text(DOMAIN_EXCLUDE),
    Setting::Flag(DELETE_IDENTITY_ON_OFFBOARD),
    Setting::Flag(DELETE_ORPHANED_IDENTITIES),
    Setting::Number(RECONCILE_PAGE_SIZE),
    Setting::Text(HOSTED_ZONE_IDS),
    Setting::Text(DEFAULT_DNS_MODE),
    Setting::Text(DNS_RESOLVERS),
    Setting::Text(ROUTE53_ROLE_ARN),
    Setting::Text(ROUTE53_EXTERNAL_ID),
    Setting::Text(MAIL_FROM_SUBDOMAIN),
    Setting::Text(MAIL_FROM_BEHAVIOR_ON_MX_FAILURE),
    Setting::Text(DMARC_POLICY),
    Setting::Text(DMARC_RUA),
];
