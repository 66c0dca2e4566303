//! How fast this function may call each rate-limited AWS API: the account budgets
//! AWS documents, and the share of them one process may use.

use std::time::Duration;

/// A rate-limited budget of the account, shared by every process of the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Budget {
    SesVerifyDomainDkim,
    SesGetIdentityDkimAttributes,
    SesListIdentities,
    SesDeleteIdentity,
    SesSetIdentityMailFromDomain,
    SesGetIdentityMailFromDomainAttributes,
    SesGetEmailIdentity,
    SesPutEmailIdentityDkimSigningAttributes,
    SesTagResource,
    /// Each of `CreateEmailIdentity`, `GetEmailIdentity`, `DeleteEmailIdentity` and
    /// `ListEmailIdentities` in each replica Region: a budget of its own per API and
    /// Region, because SES's limits are per Region.
    SesReplicaIdentity,
    Route53,
}

/// One row of the table of limits: what AWS allows and where it says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub budget: Budget,
    /// The APIs that draw on this budget.
    pub apis: &'static str,
    /// AWS's documented limit, calls per second per account (and Region for SES).
    pub documented_per_second: u32,
    pub source: &'static str,
}

/// The limits, with their sources. The configured budgets default to these numbers.
pub const LIMITS: &[Limit] = &[
    Limit {
        budget: Budget::SesVerifyDomainDkim,
        apis: "ses:VerifyDomainDkim",
        documented_per_second: 1,
        source: "Amazon SES API v1 reference: identity APIs are throttled at about one request per second",
    },
    Limit {
        budget: Budget::SesGetIdentityDkimAttributes,
        apis: "ses:GetIdentityDkimAttributes",
        documented_per_second: 1,
        source: "Amazon SES API v1 reference, GetIdentityDkimAttributes: \"throttled at one request per second\", up to 100 identities per request",
    },
    Limit {
        budget: Budget::SesListIdentities,
        apis: "ses:ListIdentities",
        documented_per_second: 1,
        source: "Amazon SES API v1 reference: identity APIs are throttled at about one request per second",
    },
    Limit {
        budget: Budget::SesDeleteIdentity,
        apis: "ses:DeleteIdentity",
        documented_per_second: 1,
        source: "Amazon SES API v1 reference: identity APIs are throttled at about one request per second",
    },
    Limit {
        budget: Budget::SesSetIdentityMailFromDomain,
        apis: "ses:SetIdentityMailFromDomain",
        documented_per_second: 1,
        source: "Amazon SES API v1 reference, SetIdentityMailFromDomain: \"You can execute this operation no more than once per second\"",
    },
    Limit {
        budget: Budget::SesGetIdentityMailFromDomainAttributes,
        apis: "ses:GetIdentityMailFromDomainAttributes",
        documented_per_second: 1,
        source: "Amazon SES API v1 reference, GetIdentityMailFromDomainAttributes: \"throttled at one request per second\", up to 100 identities per request",
    },
    Limit {
        budget: Budget::SesGetEmailIdentity,
        apis: "ses:GetEmailIdentity (SES v2)",
        documented_per_second: 1,
        source: "Amazon SES quotas: API calls other than sending are throttled at one per second (https://docs.aws.amazon.com/ses/latest/dg/quotas.html); GetEmailIdentity reads one identity a call",
    },
    Limit {
        budget: Budget::SesPutEmailIdentityDkimSigningAttributes,
        apis: "ses:PutEmailIdentityDkimSigningAttributes (SES v2)",
        documented_per_second: 1,
        source: "Amazon SES quotas: API calls other than sending are throttled at one per second (https://docs.aws.amazon.com/ses/latest/dg/quotas.html)",
    },
    Limit {
        budget: Budget::SesReplicaIdentity,
        apis: "ses:CreateEmailIdentity, ses:GetEmailIdentity, ses:DeleteEmailIdentity, ses:ListEmailIdentities (SES v2), each on its own in each replica Region",
        documented_per_second: 1,
        source: "Amazon SES quotas: API calls other than sending are throttled at one per second, per Region (https://docs.aws.amazon.com/ses/latest/dg/quotas.html)",
    },
    Limit {
        budget: Budget::SesTagResource,
        apis: "ses:TagResource (SES v2)",
        documented_per_second: 1,
        source: "Amazon SES quotas: API calls other than sending are throttled at one per second (https://docs.aws.amazon.com/ses/latest/dg/quotas.html)",
    },
    Limit {
        budget: Budget::Route53,
        apis: "every Route 53 API, together",
        documented_per_second: 5,
        source: "Amazon Route 53 quotas: five requests per second per AWS account for the Route 53 APIs",
    },
];

/// The settings the pace of one process is derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaceSettings {
    /// Budget of each SES v1 identity API, calls per second.
    pub ses_calls_per_second: u32,
    /// Budget of all Route 53 APIs together, calls per second.
    pub route53_calls_per_second: u32,
    /// How far below each budget to stay: a pace exactly at the limit sits on it.
    pub margin_percent: u32,
    /// How many processes may run at once; each takes an equal share.
    pub concurrency: u32,
}

impl Default for PaceSettings {
    fn default() -> Self {
        Self {
            ses_calls_per_second: 1,
            route53_calls_per_second: 5,
            margin_percent: 4,
            concurrency: 1,
        }
    }
}

/// At most `calls` calls in any window of `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub calls: u32,
    pub window: Duration,
}

impl PaceSettings {
    pub fn budget_per_second(&self, budget: Budget) -> u32 {
        match budget {
            Budget::SesVerifyDomainDkim
            | Budget::SesGetIdentityDkimAttributes
            | Budget::SesListIdentities
            | Budget::SesDeleteIdentity
            | Budget::SesSetIdentityMailFromDomain
            | Budget::SesGetIdentityMailFromDomainAttributes
            | Budget::SesGetEmailIdentity
            | Budget::SesPutEmailIdentityDkimSigningAttributes
            | Budget::SesTagResource
            | Budget::SesReplicaIdentity => self.ses_calls_per_second,
            Budget::Route53 => self.route53_calls_per_second,
        }
    }

    /// One process's pace: the budget's calls, over a second stretched by the number
    /// of processes and the margin. Processes do not coordinate, so together they
    /// stay under the budget on average; what collides is throttled, retried by the
    /// SDK and, failing that, deferred.
    pub fn pace(&self, budget: Budget) -> Pace {
        // A budget of several calls a second keeps one of them free: the SDK retries
        // outside the pacer, and calls that leave together may arrive bunched.
        let calls = match self.budget_per_second(budget) {
            0 | 1 => 1,
            n => n - 1,
        };
        let share = f64::from(self.concurrency.max(1));
        let margin = f64::from(self.margin_percent.min(90)) / 100.0;
        Pace {
            calls,
            window: Duration::from_secs_f64(share / (1.0 - margin)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_process_paces_just_below_each_budget() {
        let settings = PaceSettings::default();
        let ses = settings.pace(Budget::SesVerifyDomainDkim);
        assert_eq!(ses.calls, 1);
        assert_eq!(ses.window.as_millis(), 1041, "1 / 0.96 s");
        let route53 = settings.pace(Budget::Route53);
        assert_eq!(
            route53.calls, 4,
            "one call of the five is left for retries and skew"
        );
        assert_eq!(route53.window, ses.window);
    }

    #[test]
    fn several_processes_share_the_budget() {
        let settings = PaceSettings {
            concurrency: 3,
            margin_percent: 0,
            ..Default::default()
        };
        let pace = settings.pace(Budget::SesGetIdentityDkimAttributes);
        assert_eq!((pace.calls, pace.window), (1, Duration::from_secs(3)));
        let per_second_all_processes = 3.0 * f64::from(pace.calls) / pace.window.as_secs_f64();
        assert!((per_second_all_processes - 1.0).abs() < 1e-9);
    }

    #[test]
    fn every_budget_has_a_sourced_limit_that_is_the_default() {
        let defaults = PaceSettings::default();
        for budget in [
            Budget::SesVerifyDomainDkim,
            Budget::SesGetIdentityDkimAttributes,
            Budget::SesListIdentities,
            Budget::SesDeleteIdentity,
            Budget::SesSetIdentityMailFromDomain,
            Budget::SesGetIdentityMailFromDomainAttributes,
            Budget::SesGetEmailIdentity,
            Budget::SesPutEmailIdentityDkimSigningAttributes,
            Budget::SesTagResource,
            Budget::SesReplicaIdentity,
            Budget::Route53,
        ] {
            let limit = LIMITS.iter().find(|l| l.budget == budget).unwrap();
            assert!(!limit.source.is_empty());
            assert_eq!(
                defaults.budget_per_second(budget),
                limit.documented_per_second
            );
        }
    }
}
