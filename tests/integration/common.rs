//! Test helpers: a work folder in a temp dir and a way to run the built binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary folder for one test.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Self {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).expect("write fixture");
        p
    }
    /// Runs the binary with arguments. Whatever it prints must hold no patient id.
    pub fn run(&self, args: &[&str]) -> Output {
        let o = Command::new(env!("CARGO_BIN_EXE_drg-audit"))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("binary runs");
        for (name, text) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
            if let Some(id) = patient_id_in(&String::from_utf8_lossy(text)) {
                panic!("{name} of drg-audit {args:?} shows patient id {id}");
            }
        }
        o
    }
}

/// Issue 13: no patient id in any output, across the whole test suite. When a test's work
/// folder goes away, every output folder in it (one with drg-audit's marker and no
/// generated `cases.csv`: run and check outputs) is searched for the patient ids of the
/// generator and the hostile fixtures (`P` + 10 digits), and so is the system temp folder
/// for a left-over transcoded copy.
impl Drop for Workdir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let mut leaks = Vec::new();
        scan_outputs(self.dir.path(), false, &mut leaks);
        if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with(".drg-audit-utf8-") || name.starts_with("drg-audit-utf8-") {
                    // Another test's read may be under way: only a copy with ids counts.
                    if let Ok(text) = std::fs::read(e.path())
                        && let Some(id) = patient_id_in(&String::from_utf8_lossy(&text))
                    {
                        leaks.push(format!("{} holds {id}", e.path().display()));
                    }
                }
            }
        }
        assert!(leaks.is_empty(), "patient ids leaked: {leaks:?}");
    }
}

fn scan_outputs(dir: &Path, in_output: bool, leaks: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let in_output = in_output
        || (dir.join(".drg-audit-output.json").is_file() && !dir.join("cases.csv").exists());
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            scan_outputs(&p, in_output, leaks);
        } else if in_output
            && let Ok(bytes) = std::fs::read(&p)
            && let Some(id) = patient_id_in(&String::from_utf8_lossy(&bytes))
        {
            leaks.push(format!("{} holds {id}", p.display()));
        }
    }
}

/// The first `P` + exactly 10 digits token (the generator's and the fixtures' patient ids).
pub fn patient_id_in(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(off) = b[i..].iter().position(|&c| c == b'P') {
        let at = i + off;
        let digits = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let before_ok = at == 0 || !b[at - 1].is_ascii_alphanumeric();
        if digits == 10 && before_ok {
            return Some(text[at..at + 11].to_string());
        }
        i = at + 1;
    }
    None
}

/// Reads `summary.json` of a run folder.
pub fn summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("valid JSON")
}

/// A small valid catalogue.
pub const GROUPS: &str = "group_code,weight,group_name\nES31,1.6,呼吸系统感染伴严重并发症\nES33,1.1,呼吸系统感染伴并发症\nES35,0.8,呼吸系统感染\nGB25,2.5,胃手术\n";

/// Canonical header of the small case fixture.
pub const HEADER: &str = "case_id,hospital_id,hospital_name,hospital_level,patient_id,admit_date,discharge_date,group_code,total_cost";

/// Six valid rows over two years.
pub fn valid_rows() -> Vec<String> {
    vec![
        "C1,H1,市第一人民医院,3,P1,2023-01-02,2023-01-05,ES31,16000".into(),
        "C2,H1,市第一人民医院,3,P2,2023-02-02,2023-02-06,ES35,8000".into(),
        "C3,H2,县医院,2,P3,2023-03-01,2023-03-04,ES33,9000".into(),
        "C4,H1,市第一人民医院,3,P1,2024-01-10,2024-01-15,ES31,17000".into(),
        "C5,H2,县医院,2,P4,2024-02-01,2024-02-03,ES35,6000".into(),
        "C6,H2,县医院,2,P5,2024-03-01,2024-03-09,GB25,25000".into(),
    ]
}

pub fn csv_of(header: &str, rows: &[String]) -> String {
    let mut s = String::from(header);
    s.push('\n');
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

/// A tiny region — 4 groups in 3 families, 6 hospitals (three secondary, two tertiary, one
/// primary: so the model's tertiary and primary peer cells are suppressed for privacy and
/// pooled), 700 stays over 2023–2024, enough to cluster (k = 3) — audited with `run` into
/// `dir/out`; returns the path of its `model.json`. Deterministic (a fixed LCG), built in
/// about a second.
pub fn tiny_region_model(dir: &Path) -> PathBuf {
    let groups = "group_code,weight,group_name\nES31,1.6,a\nES35,0.8,c\nGB25,2.5,e\nXZ15,0.5,h\n";
    let weights = [1.6, 0.8, 2.5, 0.5];
    let codes = ["ES31", "ES35", "GB25", "XZ15"];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |m: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % m
    };
    let mut csv = String::from(HEADER);
    csv.push('\n');
    let mut id = 0;
    for year in [2023, 2024] {
        for _ in 0..350 {
            id += 1;
            let h = id % 6;
            let level = [2, 2, 2, 3, 3, 1][h];
            let g = next(4) as usize;
            let month = 1 + next(12);
            let day = 16 + next(13);
            let los = 1 + next(15);
            let cost = weights[g] * 8000.0 * (0.3 + next(170) as f64 / 100.0);
            csv.push_str(&format!(
                "C{id},H{h},医院{h},{level},P{},{year}-{month:02}-{:02},{year}-{month:02}-{day:02},{},{cost:.2}\n",
                next(500),
                day - los,
                codes[g],
            ));
        }
    }
    std::fs::write(dir.join("groups.csv"), groups).expect("write groups");
    std::fs::write(dir.join("cases.csv"), csv).expect("write cases");
    std::fs::write(
        dir.join("region.toml"),
        "preset = \"drg-points\"\n[cluster]\nk = 3\n",
    )
    .expect("write config");
    let out = dir.join("out");
    drg_audit::cmd::run::run(&drg_audit::cmd::run::RunOptions {
        cases: dir.join("cases.csv"),
        groups: Some(dir.join("groups.csv")),
        groups_sheet: None,
        tables: Default::default(),
        config: Some(dir.join("region.toml")),
        preset: None,
        period: None,
        out: out.clone(),
        lang: drg_audit::lang::Lang::En,
        quiet: true,
        max_reject_share: drg_audit::ingest::DEFAULT_MAX_REJECT_SHARE,
    })
    .expect("the tiny region runs");
    out.join("model.json")
}

/// `run --cases CASES --groups groups.csv --out OUT --quiet`, the common invocation.
pub fn run_args<'a>(cases: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "run",
        "--cases",
        cases,
        "--groups",
        "groups.csv",
        "--out",
        out,
        "--quiet",
    ]
}

/// `generate --out region --seed SEED --cases-per-year N`, then `extra`: a synthetic region
/// in `region/`.
pub fn generate_args<'a>(
    seed: &'a str,
    cases_per_year: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "generate",
        "--out",
        "region",
        "--seed",
        seed,
        "--cases-per-year",
        cases_per_year,
    ];
    args.extend_from_slice(extra);
    args
}

/// `run` of the region in `region/` (its cases and groups) with `config` into `out`, then
/// `extra`.
pub fn region_run_args<'a>(config: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        "--cases",
        "region/cases.csv",
        "--groups",
        "region/groups.csv",
        "--config",
        config,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

/// A region generated into a fresh temp folder: the folder (keep it alive) and the
/// region's directory inside it.
pub fn generated_region(
    opts: &drg_audit::generate::GenerateOptions,
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("region");
    drg_audit::generate::generate(opts, &data).unwrap();
    (dir, data)
}
