//! Settlement periods: the audited period and its baseline. A stay belongs to the period of
//! its discharge date (that is when it is settled).

use serde::Serialize;

use crate::error::{AuditError, Result};
use crate::ingest::values::{Day, day_of, format_day, parse_date, year_of};

/// A closed range of discharge days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    /// `2024` or `2024-01-01..2024-06-30`.
    pub label: String,
    /// First day, inclusive.
    #[serde(serialize_with = "ser_day")]
    pub start: Day,
    /// Last day, inclusive.
    #[serde(serialize_with = "ser_day")]
    pub end: Day,
}

fn ser_day<S: serde::Serializer>(d: &Day, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format_day(*d))
}

impl Period {
    /// Whether a day falls in the period.
    pub fn contains(&self, day: Day) -> bool {
        (self.start..=self.end).contains(&day)
    }
    fn year(y: i32) -> Period {
        Period {
            label: y.to_string(),
            start: day_of(y, 1, 1).expect("valid year"),
            end: day_of(y, 12, 31).expect("valid year"),
        }
    }
}

/// Which period a stay is settled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodTag {
    /// Before the audited period (benchmarks, own history).
    Baseline,
    /// The period under audit.
    Audited,
    /// Neither (counted in the summary, not analysed).
    Outside,
}

/// The audited period and its baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Periods {
    /// The period under audit.
    pub audited: Period,
    /// The same length immediately before, when any stay falls in it.
    pub baseline: Option<Period>,
    /// How the audited period was chosen.
    pub chosen_by: String,
}

impl Periods {
    /// The tag of a discharge day.
    pub fn tag(&self, day: Day) -> PeriodTag {
        if self.audited.contains(day) {
            PeriodTag::Audited
        } else if self.baseline.as_ref().is_some_and(|b| b.contains(day)) {
            PeriodTag::Baseline
        } else {
            PeriodTag::Outside
        }
    }
}

/// Chooses the periods. `spec` is `2024` or `2024-01-01..2024-06-30`; without it the audited
/// period is the latest calendar year holding at least half as many stays as the busiest year,
/// so a few stays spilling into next January do not become "the audit".
pub fn choose(discharge: &[Day], spec: Option<&str>) -> Result<Periods> {
    let (audited, chosen_by) = match spec {
        Some(s) => (parse_spec(s)?, format!("configured ({s})")),
        None => {
            let mut counts: std::collections::BTreeMap<i32, u64> = Default::default();
            for &d in discharge {
                *counts.entry(year_of(d)).or_default() += 1;
            }
            let busiest = counts.values().copied().max().unwrap_or(0);
            let year = counts
                .iter()
                .rev()
                .find(|(_, n)| **n * 2 >= busiest)
                .map(|(y, _)| *y)
                .ok_or_else(|| AuditError::Usage("no stays to choose a period from".into()))?;
            (
                Period::year(year),
                "latest calendar year with at least half the busiest year's stays".into(),
            )
        }
    };
    let len = audited.end - audited.start + 1;
    let candidate = if audited.label.len() == 4 {
        Period::year(audited.label.parse::<i32>().unwrap_or(0) - 1)
    } else {
        Period {
            label: format!(
                "{}..{}",
                format_day(audited.start - len),
                format_day(audited.start - 1)
            ),
            start: audited.start - len,
            end: audited.start - 1,
        }
    };
    let baseline = discharge
        .iter()
        .any(|d| candidate.contains(*d))
        .then_some(candidate);
    Ok(Periods {
        audited,
        baseline,
        chosen_by,
    })
}

/// Refuses an audited period in which no stay was discharged (`--period 2099`): an empty
/// audit that exits 0 reads as "nobody games".
pub fn require_audited_stays(periods: &Periods, discharge: &[Day]) -> Result<()> {
    if !discharge.iter().any(|d| periods.audited.contains(*d)) {
        let (first, last) = discharge
            .iter()
            .fold((Day::MAX, Day::MIN), |(a, b), &d| (a.min(d), b.max(d)));
        return Err(AuditError::Usage(if first <= last {
            format!(
                "--period {}: no stay was discharged in it (the data runs from {} to {}); \
                 choose a period the data covers",
                periods.audited.label,
                format_day(first),
                format_day(last)
            )
        } else {
            "no stays to audit".to_string()
        }));
    }
    Ok(())
}

fn parse_spec(s: &str) -> Result<Period> {
    let bad = || {
        AuditError::Usage(format!(
            "period '{s}' is not a year (2024) or a date range (2024-01-01..2024-06-30)"
        ))
    };
    let s = s.trim();
    if let Ok(y) = s.parse::<i32>() {
        if (1900..=2200).contains(&y) {
            return Ok(Period::year(y));
        }
        return Err(bad());
    }
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let (start, end) = (
        parse_date(a).map_err(|_| bad())?,
        parse_date(b).map_err(|_| bad())?,
    );
    if end < start {
        return Err(bad());
    }
    Ok(Period {
        label: s.to_string(),
        start,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> Day {
        day_of(y, m, dd).unwrap()
    }

    #[test]
    fn a_period_without_stays_is_refused() {
        let days = [d(2024, 3, 1)];
        let p = choose(&days, Some("2099")).unwrap();
        let err = require_audited_stays(&p, &days).unwrap_err().to_string();
        assert!(err.contains("2099") && err.contains("2024-03-01"), "{err}");
        assert!(require_audited_stays(&choose(&days, Some("2024")).unwrap(), &days).is_ok());
    }

    #[test]
    fn january_spillover_does_not_become_the_audit() {
        let mut days = vec![d(2023, 5, 1); 100];
        days.extend(vec![d(2024, 6, 1); 90]);
        days.extend(vec![d(2025, 1, 3); 4]);
        let p = choose(&days, None).unwrap();
        assert_eq!(p.audited.label, "2024");
        assert_eq!(p.baseline.as_ref().unwrap().label, "2023");
        assert_eq!(p.tag(d(2025, 1, 3)), PeriodTag::Outside);
        assert_eq!(p.tag(d(2023, 12, 31)), PeriodTag::Baseline);
        assert_eq!(p.tag(d(2024, 1, 1)), PeriodTag::Audited);
    }

    #[test]
    fn a_configured_range_gets_a_baseline_of_the_same_length() {
        let days = vec![d(2023, 12, 1), d(2024, 2, 1)];
        let p = choose(&days, Some("2024-01-01..2024-01-31")).unwrap();
        let b = p.baseline.clone().unwrap();
        assert_eq!((b.start, b.end), (d(2023, 12, 1), d(2023, 12, 31)));
        assert_eq!(p.tag(d(2024, 2, 1)), PeriodTag::Outside);
        assert!(choose(&days, Some("2024-02-01..2024-01-01")).is_err());
        assert!(choose(&days, Some("last year")).is_err());
    }

    #[test]
    fn no_baseline_when_nothing_precedes_the_audit() {
        let p = choose(&[d(2024, 3, 1)], Some("2024")).unwrap();
        assert!(p.baseline.is_none());
    }
}
