//! Subcommand bodies: turn parsed arguments into library calls and print where results are.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cli::{BenchArgs, CheckArgs, Command, DemoArgs, EvaluateArgs, GenerateArgs, RunArgs};
use crate::error::{AuditError, Result};
use crate::generate::{self, GenerateOptions, HeaderStyle, OutputEncoding};
use run::RunOptions;

pub mod check;
pub mod run;

/// Runs one subcommand.
pub fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Run(a) => run_cmd(a),
        Command::Check(a) => check_cmd(a),
        Command::Demo(a) => demo(a),
        Command::Generate(a) => generate_cmd(a),
        Command::Evaluate(a) => evaluate_cmd(a),
        Command::Bench(a) => bench(a),
    }
}

fn evaluate_cmd(a: EvaluateArgs) -> Result<()> {
    let e = crate::evaluate::evaluate(&a.run, &a.truth)?;
    let text =
        serde_json::to_string_pretty(&e).map_err(|err| AuditError::Usage(err.to_string()))?;
    println!("{text}");
    Ok(())
}

fn run_cmd(a: RunArgs) -> Result<()> {
    let out = run::run(&RunOptions {
        cases: a.cases,
        groups: a.groups,
        config: a.config,
        preset: a.preset,
        period: a.period,
        out: a.out,
        lang: lang(&a.lang)?,
        quiet: a.quiet,
    })?;
    println!("report: {}", out.join("report.html").display());
    Ok(())
}

fn check_cmd(a: CheckArgs) -> Result<()> {
    let out = check::check(&check::CheckOptions {
        cases: a.cases,
        model: a.model,
        out: a.out,
        period: a.period,
        lang: lang(&a.lang)?,
        quiet: a.quiet,
    })?;
    println!("self-audit: {}", out.join("check.html").display());
    Ok(())
}

fn lang(s: &str) -> Result<crate::lang::Lang> {
    crate::lang::Lang::parse(s)
        .ok_or_else(|| AuditError::Usage(format!("--lang {s}: use zh or en")))
}

fn scheme(name: &str) -> generate::Scheme {
    if name == "dip" {
        generate::Scheme::Dip
    } else {
        generate::Scheme::Drg
    }
}

fn preset_for(name: &str) -> &'static str {
    if name == "dip" {
        "dip-national"
    } else {
        "drg-points"
    }
}

/// Writes a synthetic region plus a `region.toml` naming the matching preset.
fn write_region(
    opts: &GenerateOptions,
    out: &Path,
    preset: &str,
) -> Result<generate::GenerateReport> {
    let report =
        generate::generate(opts, out).map_err(|e| AuditError::Usage(format!("generate: {e}")))?;
    let cfg = out.join("region.toml");
    std::fs::write(&cfg, format!("preset = \"{preset}\"\n"))
        .map_err(|e| AuditError::io(&cfg, e))?;
    Ok(report)
}

fn generate_cmd(a: GenerateArgs) -> Result<()> {
    let opts = GenerateOptions {
        seed: a.seed,
        cases_per_year: a.cases_per_year,
        scheme: scheme(&a.scheme),
        header_style: if a.chinese_headers {
            HeaderStyle::Chinese
        } else {
            HeaderStyle::Canonical
        },
        encoding: if a.gbk {
            OutputEncoding::Gbk
        } else {
            OutputEncoding::Utf8
        },
        ..GenerateOptions::default()
    };
    let t = Instant::now();
    let r = write_region(&opts, &a.out, preset_for(&a.scheme))?;
    println!(
        "generated {} cases at {} hospitals ({} groups, {} gamed cases) in {:.1} s into {}",
        r.cases,
        r.hospitals,
        r.groups,
        r.gamed_cases,
        t.elapsed().as_secs_f64(),
        a.out.display()
    );
    println!(
        "audit it: drg-audit run --cases {0}/cases.csv --groups {0}/groups.csv --config {0}/region.toml --out <DIR>",
        a.out.display()
    );
    Ok(())
}

/// The demo: a fixed-seed sample region, generated beside the report and audited.
fn demo(a: DemoArgs) -> Result<()> {
    let input = demo_input_dir(&a.out);
    let opts = GenerateOptions {
        seed: 2024,
        scheme: scheme(&a.scheme),
        ..GenerateOptions::default()
    };
    let r = write_region(&opts, &input, preset_for(&a.scheme))?;
    println!(
        "sample region: {} cases, {} hospitals -> {}",
        r.cases,
        r.hospitals,
        input.display()
    );
    let out = run::run(&RunOptions {
        cases: input.join("cases.csv"),
        groups: Some(input.join("groups.csv")),
        config: Some(input.join("region.toml")),
        preset: None,
        period: None,
        out: a.out.clone(),
        lang: lang(&a.lang)?,
        quiet: a.quiet,
    })?;
    if !a.quiet {
        println!(
            "a hospital's self-audit: drg-audit check --cases <its cases.csv> --model {} --out <DIR>",
            out.join("model.json").display()
        );
    }
    println!("report: {}", out.join("report.html").display());
    Ok(())
}

fn demo_input_dir(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "demo".into());
    out.with_file_name(format!("{name}-input"))
}

/// Times ingest + derived fields on generated data. Data is generated once into `--dir`
/// and the measurement runs in a fresh process, so the peak memory is the audit's own.
fn bench(a: BenchArgs) -> Result<()> {
    let data = a.dir.join(format!("n{}", a.cases));
    let cases = data.join("cases.csv");
    if !cases.is_file() {
        let opts = GenerateOptions {
            seed: 1,
            cases_per_year: a.cases.div_ceil(2),
            ..GenerateOptions::default()
        };
        let t = Instant::now();
        let r = write_region(&opts, &data, "drg-points")?;
        println!(
            "generated {} cases in {:.1} s",
            r.cases,
            t.elapsed().as_secs_f64()
        );
        let exe = std::env::current_exe().map_err(|e| AuditError::io(Path::new("drg-audit"), e))?;
        let status = std::process::Command::new(exe)
            .args(["bench", "--cases", &a.cases.to_string(), "--dir"])
            .arg(&a.dir)
            .args(if a.full { &["--full"][..] } else { &[][..] })
            .status()
            .map_err(|e| AuditError::io(Path::new("drg-audit"), e))?;
        return if status.success() {
            Ok(())
        } else {
            Err(AuditError::Usage("bench run failed".into()))
        };
    }
    let opts = RunOptions {
        cases,
        groups: Some(data.join("groups.csv")),
        config: Some(data.join("region.toml")),
        preset: None,
        period: None,
        out: data.join("out"),
        lang: crate::lang::Lang::Zh,
        quiet: true,
    };
    if a.full {
        let t = Instant::now();
        run::run(&opts)?;
        println!(
            "full run: {} in {:.2} s; peak memory {:.2} GiB",
            opts.cases.display(),
            t.elapsed().as_secs_f64(),
            peak_rss_gib()
        );
        return Ok(());
    }
    let t = Instant::now();
    let analysis = run::analyse(&opts)?;
    let wall = t.elapsed().as_secs_f64();
    println!(
        "ingest+derive: {} rows read, {} analysed in {:.2} s (ingest {} ms, derive {} ms); peak memory {:.2} GiB",
        analysis.ingested.stats.rows_read,
        analysis.ingested.stats.rows_analysed,
        wall,
        analysis.timings_ms.get("ingest").copied().unwrap_or(0),
        analysis.timings_ms.get("derive").copied().unwrap_or(0),
        peak_rss_gib()
    );
    Ok(())
}

/// Peak resident memory of this process (Linux `VmHWM`), in GiB; 0 when unknown.
pub fn peak_rss_gib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kib| kib / (1024.0 * 1024.0))
}
