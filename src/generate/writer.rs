//! CSV output: cases, groups and the two truth files.
//!
//! Rows are formatted by hand into one reused `String` and handed to a large
//! `BufWriter` in ~1 MiB chunks (GB18030-encoded per chunk when asked), which keeps a
//! million rows to a second or two and allocates nothing per row.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use encoding_rs::GB18030;

use super::cases::{Case, DEPTS, NO_CODE, Region, civil_from_days};
use super::catalog::{Catalogue, Kind};
use super::hospitals::Hospital;
use super::{
    CatalogueColumns, GenerateError, GenerateOptions, HeaderStyle, OutputEncoding, Scheme,
};

/// Canonical `cases.csv` columns with their Chinese labels (CONTRACT §1).
const CASE_COLUMNS: [(&str, &str); 37] = [
    ("case_id", "结算ID"),
    ("hospital_id", "定点医药机构编号"),
    ("hospital_name", "定点医药机构名称"),
    ("hospital_level", "医保结算等级"),
    ("patient_id", "人员编号"),
    ("admit_date", "入院时间"),
    ("discharge_date", "出院时间"),
    ("los_days", "实际住院天数"),
    ("group_code", "病组编码"),
    ("total_cost", "医疗费总额"),
    ("main_diagnosis", "主要诊断编码"),
    ("secondary_diagnoses", "其他诊断编码"),
    ("main_procedure", "主要手术操作编码"),
    ("discharge_disposition", "离院方式"),
    ("planned_readmission_31d", "出院31天内再住院计划"),
    ("department", "出院科别"),
    ("physician_id", "主诊医师代码"),
    ("age", "年龄"),
    ("sex", "性别"),
    ("insurance_type", "险种类型"),
    ("fund_paid", "统筹基金支付"),
    ("self_pay", "个人自付"),
    ("own_expense", "个人自费"),
    ("fee_bed", "床位费"),
    ("fee_consultation", "诊察费"),
    ("fee_exam", "检查费"),
    ("fee_lab", "化验费"),
    ("fee_treatment", "治疗费"),
    ("fee_surgery", "手术费"),
    ("fee_nursing", "护理费"),
    ("fee_material", "卫生材料费"),
    ("fee_western_drug", "西药费"),
    ("fee_tcm_herbal", "中药饮片费"),
    ("fee_patent_drug", "中成药费"),
    ("fee_general", "一般诊疗费"),
    ("fee_registration", "挂号费"),
    ("fee_other", "其他费"),
];

/// The `cases.csv` header for a style and scheme (DIP labels its group 病种编码).
pub(crate) fn case_header(style: HeaderStyle, scheme: Scheme) -> Vec<&'static str> {
    CASE_COLUMNS
        .iter()
        .map(|&(canonical, chinese)| match style {
            HeaderStyle::Canonical => canonical,
            HeaderStyle::Chinese if canonical == "group_code" && scheme == Scheme::Dip => {
                "病种编码"
            }
            HeaderStyle::Chinese => chinese,
        })
        .collect()
}

/// Fee shares (bed … other) of a stay's unpadded cost, by clinical character:
/// surgery and materials for surgical groups, drugs for medical ones, drugs above all
/// for chemotherapy.
const FEE_SHARES: [[f64; 14]; 4] = [
    // Surgical
    [
        4.0, 1.5, 8.0, 9.0, 10.0, 20.0, 4.0, 22.0, 18.0, 0.3, 1.5, 0.5, 0.05, 1.15,
    ],
    // Non-OR procedure
    [
        5.0, 2.0, 12.0, 12.0, 16.0, 3.0, 5.0, 14.0, 26.0, 0.5, 2.5, 0.8, 0.1, 1.1,
    ],
    // Medical
    [
        8.0, 2.5, 12.0, 15.0, 13.0, 0.0, 7.0, 5.0, 30.0, 1.0, 5.0, 1.2, 0.1, 0.2,
    ],
    // Chemotherapy
    [
        3.0, 1.0, 6.0, 10.0, 8.0, 0.0, 3.0, 4.0, 62.0, 0.2, 1.5, 0.5, 0.05, 0.75,
    ],
];
/// Where padded cost goes: tests, materials and drugs.
const PAD_SHARES: [f64; 14] = [
    0.0, 0.0, 15.0, 20.0, 10.0, 0.0, 0.0, 25.0, 30.0, 0.0, 0.0, 0.0, 0.0, 0.0,
];

/// SplitMix64: a tiny deterministic generator for per-row fee noise.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Splits `total` cents by weights; the rounding remainder goes to the largest share,
/// so the parts sum to the total exactly.
fn allocate(total: i64, w: &[f64; 14], out: &mut [i64; 14]) {
    if total <= 0 {
        return;
    }
    let sum: f64 = w.iter().sum();
    if sum <= 0.0 {
        out[13] += total;
        return;
    }
    let mut assigned = 0;
    let mut largest = 0;
    for i in 0..14 {
        let c = (total as f64 * w[i] / sum).floor() as i64;
        out[i] += c;
        assigned += c;
        if w[i] > w[largest] {
            largest = i;
        }
    }
    out[largest] += total - assigned;
}

/// The 14 fee categories of a stay, summing exactly to its total cost.
pub(crate) fn fees(case: &Case, kind: Kind, tcm: bool) -> [i64; 14] {
    let mut r = SplitMix(case.fee_seed);
    let base = &FEE_SHARES[match kind {
        Kind::Surgical => 0,
        Kind::NonOr => 1,
        Kind::Medical => 2,
        Kind::Chemo => 3,
    }];
    let mut w = [0.0; 14];
    for (i, wi) in w.iter_mut().enumerate() {
        *wi = base[i] * (0.7 + 0.6 * r.unit());
    }
    if tcm {
        // Traditional Chinese medicine hospitals bill herbs and patent drugs.
        w[9] *= 8.0;
        w[10] *= 3.0;
    }
    let mut out = [0i64; 14];
    allocate(case.cost_cents - case.pad_cents, &w, &mut out);
    allocate(case.pad_cents, &PAD_SHARES, &mut out);
    out
}

/// Fund, co-payment and own-expense parts of a stay (sum = total).
fn payments(case: &Case) -> (i64, i64, i64) {
    let mut r = SplitMix(case.fee_seed ^ 0x5DEE_CE66_D1CE_5EED);
    let total = case.cost_cents;
    let own = (total as f64 * (0.01 + 0.07 * r.unit())).round() as i64;
    let rate = if case.insurance == 1 {
        0.10 + 0.08 * r.unit()
    } else {
        0.25 + 0.15 * r.unit()
    };
    let self_pay = ((total - own) as f64 * rate).round() as i64;
    (total - own - self_pay, self_pay, own)
}

/// Buffered output file with optional GB18030 encoding.
struct Sink {
    path: PathBuf,
    file: BufWriter<File>,
    buf: String,
    encoding: OutputEncoding,
}

impl Sink {
    fn create(path: PathBuf, encoding: OutputEncoding) -> Result<Sink, GenerateError> {
        let file = File::create(&path).map_err(|source| GenerateError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Sink {
            path,
            file: BufWriter::with_capacity(4 << 20, file),
            buf: String::with_capacity(1 << 21),
            encoding,
        })
    }

    fn io(&self, source: std::io::Error) -> GenerateError {
        GenerateError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Hands the buffer to the file once it holds about a megabyte; rows never span
    /// a chunk, so per-chunk encoding never splits a character.
    fn maybe_flush(&mut self) -> Result<(), GenerateError> {
        if self.buf.len() >= 1 << 20 {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> Result<(), GenerateError> {
        let result = match self.encoding {
            OutputEncoding::Utf8 => self.file.write_all(self.buf.as_bytes()),
            OutputEncoding::Gbk => {
                let (bytes, _, _) = GB18030.encode(&self.buf);
                self.file.write_all(&bytes)
            }
        };
        result.map_err(|e| self.io(e))?;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<(), GenerateError> {
        self.flush_buf()?;
        self.file.flush().map_err(|e| self.io(e))
    }
}

fn push_uint(buf: &mut String, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &tmp[i..] {
        buf.push(char::from(b));
    }
}

fn push_padded(buf: &mut String, n: u64, width: usize) {
    let mut digits = 1;
    let mut m = n / 10;
    while m > 0 {
        digits += 1;
        m /= 10;
    }
    for _ in digits..width {
        buf.push('0');
    }
    push_uint(buf, n);
}

fn push_cents(buf: &mut String, cents: i64) {
    if cents < 0 {
        buf.push('-');
    }
    let c = cents.unsigned_abs();
    push_uint(buf, c / 100);
    buf.push('.');
    push_padded(buf, c % 100, 2);
}

fn push_date(buf: &mut String, day: i32) {
    let (y, m, d) = civil_from_days(day);
    push_padded(buf, y.max(0) as u64, 4);
    buf.push('-');
    push_padded(buf, u64::from(m), 2);
    buf.push('-');
    push_padded(buf, u64::from(d), 2);
}

/// Pushes a text field, quoted when it holds a delimiter or a quote.
fn push_field(buf: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        buf.push('"');
        buf.push_str(&s.replace('"', "\"\""));
        buf.push('"');
    } else {
        buf.push_str(s);
    }
}

/// The case id of the `seq`-th stay (0-based) of a hospital: `H001-0000001`.
pub(crate) fn push_case_id(buf: &mut String, hospital_id: &str, seq: usize) {
    buf.push_str(hospital_id);
    buf.push('-');
    push_padded(buf, seq as u64 + 1, 7);
}

fn push_patient(buf: &mut String, key: u64) {
    buf.push('P');
    push_padded(buf, (key >> 32) + 1, 3);
    push_padded(buf, key & 0xFFFF_FFFF, 7);
}

fn join_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// Writes `cases.csv`; returns the number of rows.
pub(crate) fn write_cases(
    opts: &GenerateOptions,
    cat: &Catalogue,
    roster: &[Hospital],
    region: &Region,
    out_dir: &Path,
) -> Result<usize, GenerateError> {
    let mut sink = Sink::create(join_path(out_dir, "cases.csv"), opts.encoding)?;
    sink.buf
        .push_str(&case_header(opts.header_style, opts.scheme).join(","));
    sink.buf.push('\n');
    let mut rows = 0;
    for (h, cases) in roster.iter().zip(&region.hospitals) {
        for (seq, c) in cases.iter().enumerate() {
            let g = &cat.groups[c.group as usize];
            let b = &mut sink.buf;
            push_case_id(b, &h.id, seq);
            b.push(',');
            b.push_str(&h.id);
            b.push(',');
            b.push_str(&h.name);
            b.push(',');
            push_uint(b, u64::from(h.level));
            b.push(',');
            push_patient(b, c.patient);
            b.push(',');
            push_date(b, c.admit);
            b.push(',');
            push_date(b, c.discharge);
            b.push(',');
            push_uint(b, c.los().max(0) as u64);
            b.push(',');
            b.push_str(&g.code);
            b.push(',');
            push_cents(b, c.cost_cents);
            b.push(',');
            b.push_str(&cat.icd[c.main_dx as usize].code);
            b.push(',');
            for (i, &s) in c.secondaries().iter().enumerate() {
                if i > 0 {
                    b.push(';');
                }
                b.push_str(&cat.icd[s as usize].code);
            }
            b.push(',');
            if c.procedure != NO_CODE {
                b.push_str(&cat.icd[c.procedure as usize].code);
            }
            b.push(',');
            push_uint(b, u64::from(c.disposition));
            b.push(',');
            b.push(if c.planned { '1' } else { '0' });
            b.push(',');
            b.push_str(DEPTS[usize::from(c.dept)]);
            b.push(',');
            push_physician(b, &h.id, c.dept, c.physician);
            b.push(',');
            push_uint(b, u64::from(c.age));
            b.push(',');
            push_uint(b, u64::from(c.sex));
            b.push(',');
            b.push_str(if c.insurance == 1 { "310" } else { "390" });
            let (fund, self_pay, own) = payments(c);
            for v in [fund, self_pay, own] {
                b.push(',');
                push_cents(b, v);
            }
            for v in fees(c, g.kind, h.tcm) {
                b.push(',');
                push_cents(b, v);
            }
            b.push('\n');
            rows += 1;
            sink.maybe_flush()?;
        }
    }
    sink.finish()?;
    Ok(rows)
}

/// Writes `groups.csv`; returns the number of groups.
pub(crate) fn write_groups(
    opts: &GenerateOptions,
    cat: &Catalogue,
    out_dir: &Path,
) -> Result<usize, GenerateError> {
    let mut sink = Sink::create(join_path(out_dir, "groups.csv"), opts.encoding)?;
    let columns = opts.catalogue;
    sink.buf.push_str(match columns {
        CatalogueColumns::Standard => "group_code,weight,family,severity,group_name\n",
        CatalogueColumns::Minimal => "group_code,weight\n",
        CatalogueColumns::WithBenchmarks => {
            "group_code,weight,family,severity,benchmark_cost,benchmark_los,group_name\n"
        }
    });
    for (i, g) in cat.groups.iter().enumerate() {
        let b = &mut sink.buf;
        push_field(b, &g.code);
        b.push(',');
        b.push_str(&g.weight_text);
        if columns != CatalogueColumns::Minimal {
            b.push(',');
            push_field(b, &cat.families[g.family].code);
            b.push(',');
            push_uint(b, u64::from(g.severity));
            if columns == CatalogueColumns::WithBenchmarks {
                b.push(',');
                push_cents(b, (cat.published_benchmark(i) * 100.0).round() as i64);
                b.push(',');
                push_cents(b, (g.los_mean * 100.0).round() as i64);
            }
            b.push(',');
            push_field(b, &g.name);
        }
        b.push('\n');
    }
    sink.finish()?;
    Ok(cat.groups.len())
}

/// Writes `truth_hospitals.csv` (always UTF-8): one row per hospital. Gaming rows
/// carry the largest intensity and earliest start year of their specs; other rows
/// leave patterns, intensity and start_year empty.
///
/// With `--focus-gaming` (`focused`), two more columns name the department (as written in
/// `cases.csv`'s `department`) and the physician (`physician_id`) the gaming is in.
pub(crate) fn write_truth_hospitals(
    roster: &[Hospital],
    focus: &[Option<super::cases::Focus>],
    focused: bool,
    out_dir: &Path,
) -> Result<(), GenerateError> {
    let mut sink = Sink::create(
        join_path(out_dir, "truth_hospitals.csv"),
        OutputEncoding::Utf8,
    )?;
    sink.buf
        .push_str("hospital_id,hospital_name,hospital_level,role,patterns,intensity,start_year,upcoding_variant");
    if focused {
        sink.buf.push_str(",focus_department,focus_physician");
    }
    sink.buf.push('\n');
    for h in roster {
        let b = &mut sink.buf;
        b.push_str(&h.id);
        b.push(',');
        push_field(b, &h.name);
        b.push(',');
        push_uint(b, u64::from(h.level));
        b.push(',');
        b.push_str(h.role().as_str());
        b.push(',');
        let patterns: Vec<&str> = h.gaming.iter().map(|g| g.pattern.as_str()).collect();
        b.push_str(&patterns.join(";"));
        b.push(',');
        if let Some(max) = h.gaming.iter().map(|g| g.intensity).reduce(f64::max) {
            b.push_str(&max.to_string());
        }
        b.push(',');
        if let Some(start) = h.gaming.iter().map(|g| g.start_year).min() {
            b.push_str(&start.to_string());
        }
        b.push(',');
        if let Some(g) = h
            .gaming
            .iter()
            .find(|g| g.pattern == super::GamingPattern::Upcoding)
        {
            b.push_str(g.variant.as_str());
        }
        if focused {
            b.push(',');
            if let Some(f) = focus.get(h.index).copied().flatten() {
                b.push_str(DEPTS[usize::from(f.dept)]);
                b.push(',');
                push_physician(b, &h.id, f.dept, f.physician);
            } else {
                b.push(',');
            }
        }
        b.push('\n');
    }
    sink.finish()
}

/// A physician's `physician_id`: hospital id, `D`, department and physician numbers.
fn push_physician(b: &mut String, hospital_id: &str, dept: u8, physician: u8) {
    b.push_str(hospital_id);
    b.push('D');
    push_padded(b, u64::from(dept), 2);
    push_padded(b, u64::from(physician) + 1, 2);
}

/// Writes `truth_cases.csv` (always UTF-8); returns the number of gamed stays.
pub(crate) fn write_truth_cases(
    roster: &[Hospital],
    region: &Region,
    out_dir: &Path,
) -> Result<usize, GenerateError> {
    let mut sink = Sink::create(join_path(out_dir, "truth_cases.csv"), OutputEncoding::Utf8)?;
    sink.buf
        .push_str("case_id,hospital_id,pattern,variant,discharge_date\n");
    let mut rows = 0;
    for (h, cases) in roster.iter().zip(&region.hospitals) {
        for (seq, c) in cases.iter().enumerate() {
            let Some(p) = c.pattern else { continue };
            let b = &mut sink.buf;
            push_case_id(b, &h.id, seq);
            b.push(',');
            b.push_str(&h.id);
            b.push(',');
            b.push_str(p.as_str());
            b.push(',');
            if let Some(v) = c.variant {
                b.push_str(v.as_str());
            }
            b.push(',');
            push_date(b, c.discharge);
            b.push('\n');
            rows += 1;
            sink.maybe_flush()?;
        }
    }
    sink.finish()?;
    Ok(rows)
}
