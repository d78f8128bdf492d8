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
    /// Runs the binary with arguments.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_drg-audit"))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("binary runs")
    }
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
