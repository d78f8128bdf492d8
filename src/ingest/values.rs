//! Parsers for single cell values, as settlement exports write them.
//!
//! Each returns `Err(reason)` with a short phrase that goes into `rejects.csv`, so a coder
//! reading the reject knows what to fix. Pure functions, unit-tested on each accepted form.

use chrono::{Datelike, NaiveDate};

/// `str::trim`, with a shortcut for the common cell that has nothing to trim.
#[inline]
pub fn trim(s: &str) -> &str {
    // ASCII white space as `char::is_whitespace` sees it (vertical tab included).
    let ws = |c: u8| matches!(c, b'\t'..=b'\r' | b' ');
    match s.as_bytes() {
        [first, .., last] | [first @ last]
            if *first < 0x80 && *last < 0x80 && !ws(*first) && !ws(*last) =>
        {
            s
        }
        _ => s.trim(),
    }
}

/// Days since 1970-01-01, the internal date representation (compact and cheap to subtract).
pub type Day = i32;

/// A date in one of the accepted forms: `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD`, each
/// optionally followed by a time part (`2024-01-05 08:30:00`, `2024-01-05T08:30`,
/// `20240105083000`). Returns days since 1970-01-01.
pub fn parse_date(raw: &str) -> Result<Day, &'static str> {
    const WHY: &str = "is not a date (use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)";
    let s = trim(raw);
    fixed_date(s, WHY).or_else(|why| flexible_date(s).ok_or(why))
}

/// The fixed-width forms (the fast path).
fn fixed_date(s: &str, why: &'static str) -> Result<Day, &'static str> {
    let b = s.as_bytes();
    let (y, m, d) = if b.len() >= 10 && (b[4] == b'-' || b[4] == b'/') && b[7] == b[4] {
        if b.len() > 10 && !matches!(b[10], b' ' | b'T') {
            return Err(why);
        }
        (&s[0..4], &s[5..7], &s[8..10])
    } else if b.len() >= 8 && b[..8].iter().all(u8::is_ascii_digit) {
        if b.len() > 8 && !(b.len() == 14 && b.iter().all(u8::is_ascii_digit)) && b[8] != b' ' {
            return Err(why);
        }
        (&s[0..4], &s[4..6], &s[6..8])
    } else {
        return Err(why);
    };
    let num = |t: &str| -> Result<u32, &'static str> {
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse::<u32>().map_err(|_| why)
        } else {
            Err(why)
        }
    };
    let date = NaiveDate::from_ymd_opt(num(y)? as i32, num(m)?, num(d)?).ok_or(why)?;
    Ok(date.num_days_from_ce() - EPOCH_FROM_CE)
}

/// `YYYY-M-D` with one- or two-digit month and day and `-`, `/` or `.` between them, as
/// Excel shows dates in Chinese locales (`2024/1/5`), optionally followed by a time part
/// after a space or `T`. The slow path: only cells the fixed forms do not read get here.
fn flexible_date(s: &str) -> Option<Day> {
    let date = s.split([' ', 'T']).next()?;
    if date.len() < s.len() && s[date.len() + 1..].trim().is_empty() {
        return None;
    }
    let sep = date.chars().find(|c| matches!(c, '-' | '/' | '.'))?;
    let mut parts = date.split(sep);
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |t: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&t.len()) && t.bytes().all(|c| c.is_ascii_digit())
    };
    if parts.next().is_some() || !digits(y, 4, 4) || !digits(m, 1, 2) || !digits(d, 1, 2) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    Some(date.num_days_from_ce() - EPOCH_FROM_CE)
}

/// `NaiveDate(1970-01-01).num_days_from_ce()`.
const EPOCH_FROM_CE: i32 = 719_163;

/// The calendar date of a [`Day`].
pub fn day_to_date(day: Day) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day + EPOCH_FROM_CE).unwrap_or(NaiveDate::MIN)
}

/// Formats a [`Day`] as `YYYY-MM-DD`.
pub fn format_day(day: Day) -> String {
    day_to_date(day).format("%Y-%m-%d").to_string()
}

/// The calendar year of a [`Day`].
pub fn year_of(day: Day) -> i32 {
    day_to_date(day).year()
}

/// Days since epoch for a calendar date, for tests and period bounds.
pub fn day_of(y: i32, m: u32, d: u32) -> Option<Day> {
    NaiveDate::from_ymd_opt(y, m, d).map(|x| x.num_days_from_ce() - EPOCH_FROM_CE)
}

/// The default bound on one stay's cost and the bound on catalogue benchmark costs (see
/// [`crate::config::DEFAULT_MAX_STAY_COST_YUAN`]; a region sets its own stay bound with
/// `[data] max_stay_cost_yuan`).
pub const MAX_STAY_COST_YUAN: f64 = crate::config::DEFAULT_MAX_STAY_COST_YUAN;

/// Money in yuan: tolerates a leading `¥`/`￥`, thousands separators and surrounding spaces.
/// Negative amounts parse (the caller decides whether they are allowed).
pub fn parse_money(raw: &str) -> Result<f64, &'static str> {
    const WHY: &str = "is not an amount in yuan";
    let trimmed = trim(raw);
    // Fastest path: a short plain decimal, read exactly without the general parser.
    if let Some(v) = plain_decimal(trimmed) {
        return Ok(v);
    }
    // Fast path: a plain number (the common case; no allocation).
    if let Ok(v) = trimmed.parse::<f64>() {
        return if v.is_finite() { Ok(v) } else { Err(WHY) };
    }
    let s = raw.trim().trim_start_matches(['¥', '￥']).trim();
    let cleaned: String = s.chars().filter(|c| *c != ',' && *c != '，').collect();
    let v: f64 = cleaned.parse().map_err(|_| WHY)?;
    if v.is_finite() { Ok(v) } else { Err(WHY) }
}

/// `10^i` for `i <= 22`: every one is exact in `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `[-]digits[.digits]` with at most 15 digits in all, as `str::parse::<f64>` reads it.
///
/// The digits make an integer below 2^53 and `10^k` is exact, so the one division is
/// correctly rounded: the result is bit for bit the parser's. Anything else gives `None`.
fn plain_decimal(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let (neg, body) = match b.first()? {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    let mut mantissa: u64 = 0;
    let mut digits = 0u32;
    let mut point: Option<usize> = None;
    for (i, &c) in body.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                digits += 1;
                if digits > 15 {
                    return None;
                }
            }
            b'.' if point.is_none() => point = Some(i),
            _ => return None,
        }
    }
    let decimals = match point {
        None if digits > 0 => 0,
        // Digits on both sides of the point ("1." and ".5" take the general parser).
        Some(p) if p > 0 && p + 1 < body.len() => body.len() - p - 1,
        _ => return None,
    };
    let v = mantissa as f64 / POW10[decimals];
    Some(if neg { -v } else { v })
}

/// A hospital level: `1`/`2`/`3`, `一级`/`二级`/`三级` (also `一`/`二`/`三`, `1级`).
pub fn parse_level(raw: &str) -> Result<u8, &'static str> {
    const WHY: &str = "is not a hospital level (use 1, 2, 3 or 一级, 二级, 三级)";
    match trim(raw) {
        "1" => return Ok(1),
        "2" => return Ok(2),
        "3" => return Ok(3),
        _ => {}
    }
    let s = raw.trim().trim_end_matches('级').trim_end_matches("医院");
    match s {
        "1" | "一" => Ok(1),
        "2" | "二" => Ok(2),
        "3" | "三" => Ok(3),
        _ => Err(WHY),
    }
}

/// A non-negative whole number of days (`7`, `7.0`).
pub fn parse_days(raw: &str) -> Result<u32, &'static str> {
    const WHY: &str = "is not a whole number of days";
    let s = trim(raw);
    if let Ok(v) = s.parse::<u32>() {
        return Ok(v);
    }
    match s.parse::<f64>() {
        Ok(v) if v >= 0.0 && v.fract() == 0.0 && v < 100_000.0 => Ok(v as u32),
        _ => Err(WHY),
    }
}

/// A 0/1 flag; also accepts `是`/`否`, `Y`/`N`, `true`/`false`.
pub fn parse_flag(raw: &str) -> Result<bool, &'static str> {
    match trim(raw) {
        "1" => return Ok(true),
        "0" => return Ok(false),
        _ => {}
    }
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "是" | "y" | "yes" | "true" => Ok(true),
        "0" | "否" | "n" | "no" | "false" => Ok(false),
        _ => Err("is not a 0/1 flag"),
    }
}

/// Discharge disposition code 1, 2, 3, 4, 5 or 9 (离院方式).
pub fn parse_disposition(raw: &str) -> Result<u8, &'static str> {
    match trim(raw) {
        "1" => Ok(1),
        "2" => Ok(2),
        "3" => Ok(3),
        "4" => Ok(4),
        "5" => Ok(5),
        "9" => Ok(9),
        _ => Err("is not a discharge disposition (1, 2, 3, 4, 5 or 9)"),
    }
}

/// Splits a list of codes on `;`, `,`, `|`, `；`, `，` or white space, skipping empties.
pub fn split_codes(raw: &str) -> impl Iterator<Item = &str> {
    // ASCII text (the common case) is split on bytes: the same separators, as
    // `char::is_whitespace` has no other ASCII white space than \t..=\r and ' '.
    let ascii = raw.is_ascii();
    raw.split(move |c: char| {
        if ascii {
            matches!(c as u8, b';' | b',' | b'|' | b'\t'..=b'\r' | b' ')
        } else {
            matches!(c, ';' | ',' | '|' | '；' | '，') || c.is_whitespace()
        }
    })
    .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_date_form_gives_the_same_day() {
        let want = day_of(2024, 1, 5).unwrap();
        for s in [
            "2024-01-05",
            "2024/01/05",
            "20240105",
            "2024-01-05 08:30:00",
            "2024-01-05T08:30",
            "2024/01/05 23:59",
            "20240105083000",
            " 2024-01-05 ",
            // Issue 13 item 8: Excel's Chinese default display, single-digit month and day.
            "2024/1/5",
            "2024-1-5",
            "2024.1.5",
            "2024/1/05 8:30",
            "2024/01/5T08:30",
        ] {
            assert_eq!(parse_date(s), Ok(want), "{s}");
        }
        assert_eq!(day_of(1970, 1, 1), Some(0));
        assert_eq!(format_day(want), "2024-01-05");
        assert_eq!(year_of(want), 2024);
    }

    #[test]
    fn impossible_or_malformed_dates_are_refused() {
        for s in [
            "2024-13-01",
            "2024-02-30",
            "2024/2/30",
            "2024/1/5/6",
            "2024/1-5",
            "24/1/5",
            "2024/123/5",
            "05/01/2024",
            "",
            "abc",
            "2024-01-05x",
        ] {
            assert!(parse_date(s).is_err(), "{s}");
        }
    }

    #[test]
    fn money_tolerates_yuan_sign_and_thousands_separators() {
        assert_eq!(parse_money("¥12,345.60"), Ok(12345.6));
        assert_eq!(parse_money(" 980 "), Ok(980.0));
        assert_eq!(parse_money("-5"), Ok(-5.0));
        assert!(parse_money("12.3.4").is_err());
        assert!(parse_money("NaN").is_err());
    }

    #[test]
    fn trim_shortcut_agrees_with_str_trim() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\u{b}a\u{b}",
            "\ta\r\n",
            "\u{3000}一级\u{3000}",
            "一级",
            "\u{a0}1",
            "1\u{85}",
            "ab",
            "\u{1f}x\u{1f}",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }

    #[test]
    fn plain_decimals_read_bit_for_bit_like_the_standard_parser() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut cases: Vec<String> = [
            "0",
            "-0",
            "0.00",
            "-0.00",
            "1",
            "12.5",
            "007.50",
            "999999999999999",
            "99999999999.9999",
            "0.00000000000001",
            "123456.789012345",
            "-42.10",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let int = x % 10_000_000;
            let decimals = (x >> 40) % 9;
            let frac = (x >> 20) % 10u64.pow(decimals as u32);
            cases.push(if decimals == 0 {
                int.to_string()
            } else {
                format!("{int}.{frac:0width$}", width = decimals as usize)
            });
        }
        for s in &cases {
            let want: f64 = s.parse().unwrap();
            let got = plain_decimal(s).unwrap_or_else(|| panic!("{s} not plain"));
            assert_eq!(got.to_bits(), want.to_bits(), "{s}");
        }
        for s in [
            "",
            "-",
            ".",
            "1.",
            ".5",
            "1.2.3",
            "+1",
            "1e5",
            "1,000",
            "1234567890123456",
        ] {
            assert_eq!(plain_decimal(s), None, "{s}");
        }
    }

    #[test]
    fn levels_in_digits_and_chinese() {
        assert_eq!(parse_level("三级"), Ok(3));
        assert_eq!(parse_level("2"), Ok(2));
        assert_eq!(parse_level("一"), Ok(1));
        assert!(parse_level("4").is_err());
    }

    #[test]
    fn days_flags_dispositions_and_code_lists() {
        assert_eq!(parse_days("7"), Ok(7));
        assert_eq!(parse_days("7.0"), Ok(7));
        assert!(parse_days("-1").is_err());
        assert!(parse_days("2.5").is_err());
        assert_eq!(parse_flag("是"), Ok(true));
        assert_eq!(parse_flag("0"), Ok(false));
        assert_eq!(parse_disposition("5"), Ok(5));
        assert!(parse_disposition("6").is_err());
        let codes: Vec<&str> = split_codes("I10.x00; E11.900|J18.9 , N18.5").collect();
        assert_eq!(codes, vec!["I10.x00", "E11.900", "J18.9", "N18.5"]);
        let wide: Vec<&str> = split_codes("A01.1，B02.2；C03\u{3000}D04 E05").collect();
        assert_eq!(wide, vec!["A01.1", "B02.2", "C03", "D04", "E05"]);
        let controls: Vec<&str> = split_codes("A\u{b}B\u{1f}C\r\nD").collect();
        assert_eq!(controls, vec!["A", "B\u{1f}C", "D"]);
    }
}
