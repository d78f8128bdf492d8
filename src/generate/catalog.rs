//! The group catalogue and the code dictionaries, built from the embedded reference
//! tables. Nothing here depends on the seed: the same scheme always gives the same
//! catalogue, so `groups.csv` is stable across seeds.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::Scheme;

const ICD_CSV: &str = include_str!("../../data/reference/chs_icd10_adrg_cc_mcc.csv");
const WEIGHTS_CSV: &str = include_str!("../../data/reference/chs_drg_weights_harbin_2024.csv");
const NAMES_TXT: &str = include_str!("../../data/reference/chs_drg_1.1_group_names.txt");
const CCE_CSV: &str = include_str!("../../data/reference/chs_drg_1.1_cc_exclusion.csv");

/// Regional cost of one unit of relative weight, in yuan. DIP scores are on a ×1000
/// scale, so one point is worth `COST_PER_RW / 1000` yuan.
pub(crate) const COST_PER_RW: f64 = 10_000.0;

/// DIP treatment levels inside a diagnosis family, lightest first.
pub(crate) const DIP_TREATMENTS: [(&str, &str, f64); 4] = [
    ("cons", "保守治疗", 1.0),
    ("diag", "诊断性操作", 1.35),
    ("proc", "治疗性操作", 2.0),
    ("surg", "手术治疗", 3.2),
];

/// Clinical character of a group: drives fee shares, procedure codes and department.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Surgical,
    NonOr,
    Medical,
    Chemo,
}

/// One row of the ICD-10 / ICD-9-CM-3 dictionary.
pub(crate) struct Icd {
    pub code: Cow<'static, str>,
    pub name: Cow<'static, str>,
    pub adrg: Cow<'static, str>,
    pub cc: bool,
    pub mcc: bool,
    /// Its own CC-exclusion table as a secondary diagnosis (`7-49` → 49; 0 = none).
    pub table: u16,
    /// Its CHS-DRG 1.1 exclusion table as a main diagnosis (0 = excludes nothing): a
    /// secondary CC of the same table does not count.
    pub main_table: u16,
}

impl Icd {
    /// ICD-9-CM-3 procedure codes start with a digit; ICD-10 diagnoses with a letter.
    fn is_procedure(&self) -> bool {
        self.code.as_bytes().first().is_some_and(u8::is_ascii_digit)
    }

    /// Extension codes (`x` suffix) are the rare national additions; preferring the
    /// plain codes makes the common codes common, as in real coding.
    fn is_extension(&self) -> bool {
        self.code.contains('x')
    }

    pub fn category(&self) -> &str {
        self.code.get(..3).unwrap_or(&self.code)
    }
}

/// A DRG or DIP group.
pub(crate) struct Group {
    pub code: String,
    /// Weight as written in `groups.csv` (the reference text for DRG, integer score
    /// for DIP), kept as text so no float formatting can change it.
    pub weight_text: String,
    /// Relative weight (DIP: score / 1000): expected cost = `COST_PER_RW` × rw.
    pub rw: f64,
    /// DRG weight or DIP score, as the analyzer reads it.
    pub weight: f64,
    pub family: usize,
    /// 1, 3, 5 or 9 (DIP: always 9).
    pub severity: u8,
    /// Position inside the family, lightest = 0.
    pub tier: u8,
    /// DIP treatment index into [`DIP_TREATMENTS`] (DRG: 0).
    pub treatment: u8,
    pub name: String,
    pub kind: Kind,
    /// Candidate main procedures (empty for medical groups).
    pub proc_pool: Vec<u32>,
    /// Benchmark length of stay, rising with weight.
    pub los_mean: f64,
}

/// Groups a patient could be coded into by severity (DRG ADRG) or treatment (DIP
/// diagnosis category).
pub(crate) struct Family {
    pub code: String,
    /// MDC letter of the (anchor) ADRG.
    pub mdc: u8,
    /// Group indices, lightest first.
    pub groups: Vec<usize>,
    /// Candidate main diagnoses.
    pub dx_pool: Vec<u32>,
    /// Weight of the lightest group in RW units.
    pub anchor_rw: f64,
    pub kind: Kind,
    /// Region-wide popularity before level preferences.
    pub base_pop: f64,
}

/// The catalogue plus the code pools the case generator draws from.
pub(crate) struct Catalogue {
    pub scheme: Scheme,
    pub icd: Vec<Icd>,
    pub groups: Vec<Group>,
    pub families: Vec<Family>,
    /// CC (not MCC) secondary diagnoses, common first.
    pub cc_pool: Vec<u32>,
    /// MCC secondary diagnoses, common first.
    pub mcc_pool: Vec<u32>,
    /// Secondary diagnoses that change no severity, common first.
    pub plain_pool: Vec<u32>,
    /// Everyday comorbidities (hypertension, diabetes …) and the usual CC / MCC codes
    /// (hyponatraemia, pneumonia, respiratory failure, sepsis …): honest coders draw
    /// half their secondary codes from these, so code frequencies look real and an
    /// upcoder's favourites stand out.
    pub common_plain: Vec<u32>,
    pub common_cc: Vec<u32>,
    pub common_mcc: Vec<u32>,
    /// CC (not MCC) and MCC codes by their own exclusion table, plain codes only: the
    /// codes a main diagnosis of that table excludes (the excluded-code upcoding variant
    /// and honest dictionary disagreement draw from them).
    pub cc_by_table: BTreeMap<u16, Vec<u32>>,
    pub mcc_by_table: BTreeMap<u16, Vec<u32>>,
    /// Malignant neoplasm codes (all CC in the dictionary) for chemotherapy patients.
    pub cancer_pool: Vec<u32>,
    /// The chemotherapy family (DRG RE1, DIP Z51).
    pub chemo_family: Option<usize>,
    /// Light medical groups used by low-standard admissions.
    pub light_medical: Vec<usize>,
    /// The procedure codes that lead to each ADRG, as the dictionary files them (a code
    /// may lead to several).
    pub procedures_of_adrg: BTreeMap<String, BTreeSet<String>>,
}

/// Splits one CSV line with `"`-quoted fields; borrows unless a field has `""`.
fn csv_fields(line: &'static str) -> Vec<Cow<'static, str>> {
    let mut out = Vec::with_capacity(8);
    let bytes = line.as_bytes();
    let mut i = 0;
    loop {
        if i < bytes.len() && bytes[i] == b'"' {
            let start = i + 1;
            let mut j = start;
            let mut escaped = false;
            while j < bytes.len() {
                if bytes[j] == b'"' {
                    if j + 1 < bytes.len() && bytes[j + 1] == b'"' {
                        escaped = true;
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            let raw = &line[start..j.min(line.len())];
            out.push(if escaped {
                Cow::Owned(raw.replace("\"\"", "\""))
            } else {
                Cow::Borrowed(raw)
            });
            i = j + 1;
            // Skip to the delimiter after the closing quote.
            while i < bytes.len() && bytes[i] != b',' {
                i += 1;
            }
        } else {
            let start = i;
            while i < bytes.len() && bytes[i] != b',' {
                i += 1;
            }
            out.push(Cow::Borrowed(&line[start..i]));
        }
        if i >= bytes.len() {
            break;
        }
        i += 1; // the comma
    }
    out
}

fn lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
}

fn parse_icd() -> Vec<Icd> {
    let main_tables: BTreeMap<&str, u16> = lines(CCE_CSV)
        .skip(1)
        .filter_map(|l| {
            let (code, table) = l.split_once(',')?;
            Some((code, table.trim().parse().ok()?))
        })
        .collect();
    lines(ICD_CSV)
        .skip(1)
        .filter_map(|line| {
            let mut f = csv_fields(line).into_iter();
            let code = f.next()?;
            let name = f.next().unwrap_or_default();
            let adrg = f.next().unwrap_or_default();
            let cc = f.next().is_some_and(|v| v.trim() == "1");
            let mcc = f.next().is_some_and(|v| v.trim() == "1");
            let table = f
                .next()
                .and_then(|t| t.rsplit('-').next().and_then(|t| t.trim().parse().ok()))
                .unwrap_or(0);
            let main_table = main_tables.get(code.as_ref()).copied().unwrap_or(0);
            (!code.is_empty()).then_some(Icd {
                code,
                name,
                adrg,
                cc,
                mcc,
                table,
                main_table,
            })
        })
        .collect()
}

struct WeightRow {
    code: &'static str,
    weight_text: String,
    weight: f64,
    name: Option<String>,
}

fn parse_weights() -> Vec<WeightRow> {
    let names: BTreeMap<&str, &str> = lines(NAMES_TXT)
        .filter_map(|l| {
            let l = l.trim();
            let (code, name) = l.split_once(char::is_whitespace)?;
            Some((code, name.trim()))
        })
        .collect();
    lines(WEIGHTS_CSV)
        .skip(1)
        .filter_map(|line| {
            let f = csv_fields(line);
            let code = match f.first()? {
                Cow::Borrowed(s) => *s,
                Cow::Owned(_) => return None,
            };
            let weight_text = f.get(1)?.trim().to_string();
            let weight: f64 = weight_text.parse().ok()?;
            let name = f
                .get(5)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .or_else(|| names.get(code).map(|s| s.to_string()));
            (code.len() == 4).then_some(WeightRow {
                code,
                weight_text,
                weight,
                name,
            })
        })
        .collect()
}

/// FNV-1a: a fixed hash so catalogue choices never depend on the seed or on the
/// standard library's randomised hasher.
pub(crate) fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn kind_of_adrg(adrg: &str) -> Kind {
    if adrg == "RE1" {
        return Kind::Chemo;
    }
    match adrg.as_bytes().get(1).copied().unwrap_or(b'R') {
        b'A'..=b'H' | b'J' => Kind::Surgical,
        b'K'..=b'Q' => Kind::NonOr,
        _ => Kind::Medical,
    }
}

fn los_mean(rw: f64, kind: Kind) -> f64 {
    if kind == Kind::Chemo {
        // A chemotherapy cycle is a short planned stay whatever its weight.
        return 3.0;
    }
    2.5 + 4.0 * rw.powf(0.55)
}

/// Keeps plain codes before extension codes and thins the list to at most `cap`
/// entries by an even stride, so pools span the chapters instead of one block.
fn tidy_pool(icd: &[Icd], mut pool: Vec<u32>, cap: usize) -> Vec<u32> {
    pool.sort_by_key(|&i| (icd[i as usize].is_extension(), i));
    let plain = pool
        .iter()
        .filter(|&&i| !icd[i as usize].is_extension())
        .count();
    if plain >= 8 {
        pool.truncate(plain);
    }
    if pool.len() > cap {
        let stride = pool.len() as f64 / cap as f64;
        pool = (0..cap)
            .map(|k| pool[(k as f64 * stride) as usize])
            .collect();
    }
    pool
}

impl Catalogue {
    /// Builds the catalogue of `scheme` from the embedded reference tables.
    pub fn build(scheme: Scheme) -> Catalogue {
        let icd = parse_icd();
        let weights = parse_weights();

        let mut dx_by_adrg: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        let mut px_by_adrg: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        let (mut cc, mut mcc, mut plain, mut cancer) = (vec![], vec![], vec![], vec![]);
        for (i, c) in icd.iter().enumerate() {
            let i = i as u32;
            if c.is_procedure() {
                if !c.adrg.is_empty() {
                    px_by_adrg.entry(&c.adrg).or_default().push(i);
                }
                continue;
            }
            if !c.adrg.is_empty() {
                dx_by_adrg.entry(&c.adrg).or_default().push(i);
            }
            if c.code.starts_with('C') {
                cancer.push(i);
            }
            match (c.cc, c.mcc) {
                (_, true) => mcc.push(i),
                (true, false) => cc.push(i),
                _ => plain.push(i),
            }
        }

        // Families of the Harbin table, in code order.
        let mut fam_rows: BTreeMap<&str, Vec<&WeightRow>> = BTreeMap::new();
        for w in &weights {
            fam_rows.entry(&w.code[..3]).or_default().push(w);
        }
        // Selection: families with names for all groups (so output reads like a real
        // catalogue), outside pre-MDC transplants, with codes to draw from; all split
        // families (the ones upcoding needs) and every fourth unsplit one, which
        // gives about 240 groups.
        let mut selected: Vec<(&str, Vec<&WeightRow>)> = Vec::new();
        let mut unsplit_seen = 0usize;
        for (fam, rows) in &fam_rows {
            let named = rows.iter().all(|r| r.name.is_some());
            let has_codes = dx_by_adrg.contains_key(fam) || px_by_adrg.contains_key(fam);
            if !named || !has_codes || fam.starts_with('A') {
                continue;
            }
            if rows.len() >= 2 {
                selected.push((fam, rows.clone()));
            } else {
                if unsplit_seen.is_multiple_of(4) {
                    selected.push((fam, rows.clone()));
                }
                unsplit_seen += 1;
            }
        }

        let by_table = |codes: &[u32]| {
            let mut m: BTreeMap<u16, Vec<u32>> = BTreeMap::new();
            for &i in codes {
                let t = icd[i as usize].table;
                if t != 0 && !icd[i as usize].is_extension() {
                    m.entry(t).or_default().push(i);
                }
            }
            m
        };
        let (cc_by_table, mcc_by_table) = (by_table(&cc), by_table(&mcc));
        let plain_pool = tidy_pool(&icd, plain.clone(), 600);
        let mut cat = Catalogue {
            cc_by_table,
            mcc_by_table,
            scheme,
            groups: Vec::new(),
            families: Vec::new(),
            cc_pool: tidy_pool(&icd, cc, 500),
            mcc_pool: tidy_pool(&icd, mcc, 300),
            plain_pool,
            cancer_pool: tidy_pool(&icd, cancer, 120),
            common_plain: common(&icd, COMMON_PLAIN, |c| !c.cc && !c.mcc),
            common_cc: common(&icd, COMMON_CC, |c| c.cc && !c.mcc),
            common_mcc: common(&icd, COMMON_MCC, |c| c.mcc),
            chemo_family: None,
            light_medical: Vec::new(),
            icd: Vec::new(),
            procedures_of_adrg: px_by_adrg
                .iter()
                .map(|(a, v)| {
                    let codes = v.iter().map(|&i| icd[i as usize].code.to_string());
                    (a.to_string(), codes.collect())
                })
                .collect(),
        };
        let ctx = PoolCtx {
            icd: &icd,
            dx_by_adrg: &dx_by_adrg,
            px_by_adrg: &px_by_adrg,
            plain: &plain,
        };
        match scheme {
            Scheme::Drg => cat.build_drg(&selected, &ctx),
            Scheme::Dip => cat.build_dip(&selected, &ctx),
        }
        drop(fam_rows);
        cat.icd = icd;
        cat.light_medical = cat
            .groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.kind == Kind::Medical && g.tier == 0 && g.rw < 0.6)
            .map(|(i, _)| i)
            .collect();
        if cat.light_medical.is_empty() {
            cat.light_medical = (0..cat.groups.len())
                .filter(|&i| cat.groups[i].tier == 0)
                .collect();
        }
        cat
    }

    fn build_drg(&mut self, selected: &[(&str, Vec<&WeightRow>)], ctx: &PoolCtx<'_>) {
        for (fam, rows) in selected {
            let mut rows = rows.clone();
            // Severity 5 (none) is the lightest sibling, then 3 (CC), then 1 (MCC).
            rows.sort_by(|a, b| b.code.as_bytes()[3].cmp(&a.code.as_bytes()[3]));
            let kind = kind_of_adrg(fam);
            let fi = self.families.len();
            let mdc = fam.as_bytes()[0];
            let mut group_ids = Vec::new();
            let proc_pool = match kind {
                Kind::Medical => Vec::new(),
                _ => ctx.px(fam, mdc, kind),
            };
            for (tier, r) in rows.iter().enumerate() {
                let severity = r.code.as_bytes()[3] - b'0';
                let name = match &r.name {
                    Some(n) => n.clone(),
                    None => r.code.to_string(),
                };
                group_ids.push(self.groups.len());
                self.groups.push(Group {
                    code: r.code.to_string(),
                    weight_text: r.weight_text.clone(),
                    rw: r.weight,
                    weight: r.weight,
                    family: fi,
                    severity,
                    tier: tier as u8,
                    treatment: 0,
                    name,
                    kind,
                    proc_pool: proc_pool.clone(),
                    los_mean: los_mean(r.weight, kind),
                });
            }
            let anchor_rw = rows.first().map_or(1.0, |r| r.weight);
            if *fam == "RE1" {
                self.chemo_family = Some(fi);
            }
            self.families.push(Family {
                code: fam.to_string(),
                mdc,
                groups: group_ids,
                dx_pool: ctx.dx(fam, mdc),
                anchor_rw,
                kind,
                base_pop: base_pop(fam),
            });
        }
    }

    fn build_dip(&mut self, selected: &[(&str, Vec<&WeightRow>)], ctx: &PoolCtx<'_>) {
        // One DIP family per diagnosis-defined ADRG of the DRG selection: its most
        // frequent 3-character category, scored from the ADRG's lightest weight.
        let mut seen = std::collections::BTreeSet::new();
        for (fam, rows) in selected {
            let kind = kind_of_adrg(fam);
            if !matches!(kind, Kind::Medical | Kind::Chemo) {
                continue;
            }
            let Some(dx) = ctx.dx_by_adrg.get(fam) else {
                continue;
            };
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for &i in dx {
                *counts.entry(ctx.icd[i as usize].category()).or_default() += 1;
            }
            // Most frequent category; ties go to the smallest code (BTreeMap order).
            let Some((cat_code, _)) =
                counts
                    .iter()
                    .fold(None::<(&str, usize)>, |best, (&c, &n)| match best {
                        Some((_, bn)) if bn >= n => best,
                        _ => Some((c, n)),
                    })
            else {
                continue;
            };
            if !seen.insert(cat_code.to_string()) {
                continue;
            }
            let cat_code = cat_code.to_string();
            let mdc = fam.as_bytes()[0];
            let anchor = rows.iter().map(|r| r.weight).fold(f64::INFINITY, f64::min);
            let cat_dx: Vec<u32> = dx
                .iter()
                .copied()
                .filter(|&i| ctx.icd[i as usize].category() == cat_code)
                .collect();
            // The category's name: the shortest code's name (the 4-character parent).
            let cat_name = cat_dx
                .iter()
                .min_by_key(|&&i| (ctx.icd[i as usize].code.len(), i))
                .map(|&i| ctx.icd[i as usize].name.to_string())
                .unwrap_or_else(|| cat_code.clone());
            let treatments: &[usize] = if kind == Kind::Chemo {
                &[0, 1, 2]
            } else {
                match fnv1a(&cat_code) % 6 {
                    0 => &[0, 1],
                    1 => &[0, 2],
                    2 => &[0, 1, 2],
                    3 => &[0, 1, 3],
                    4 => &[0, 1, 2, 3],
                    _ => &[0, 3],
                }
            };
            let fi = self.families.len();
            let mut group_ids = Vec::new();
            for (tier, &t) in treatments.iter().enumerate() {
                let (tcode, tname, mult) = DIP_TREATMENTS[t];
                let score = (anchor * mult * 1000.0).round().max(1.0);
                let rw = score / 1000.0;
                let gkind = match t {
                    0 => kind,
                    3 => Kind::Surgical,
                    _ => Kind::NonOr,
                };
                let proc_pool = match gkind {
                    Kind::Medical => Vec::new(),
                    Kind::Chemo => ctx.px(fam, mdc, Kind::Chemo),
                    k => ctx.mdc_px(mdc, k, t),
                };
                group_ids.push(self.groups.len());
                self.groups.push(Group {
                    code: format!("{cat_code}:{tcode}"),
                    weight_text: format!("{score:.0}"),
                    rw,
                    weight: score,
                    family: fi,
                    severity: 9,
                    tier: tier as u8,
                    treatment: t as u8,
                    name: format!("{cat_name}（{tname}）"),
                    kind: gkind,
                    proc_pool,
                    los_mean: los_mean(rw, gkind),
                });
            }
            if kind == Kind::Chemo {
                self.chemo_family = Some(fi);
            }
            self.families.push(Family {
                code: cat_code.clone(),
                mdc,
                groups: group_ids,
                dx_pool: tidy_pool(ctx.icd, cat_dx, 60),
                anchor_rw: anchor,
                kind,
                base_pop: base_pop(&cat_code),
            });
        }
    }

    /// The group a heavier main diagnosis moves a medical DRG case to (the main-diagnosis
    /// upcoding variant): in another medical family of the same MDC, the sibling of the same
    /// severity that is the lightest one at least 10 % heavier than `group` — a neighbour a
    /// coder can reach by choosing another diagnosis of the same organ system as the main one.
    pub fn heavier_main_dx_group(&self, group: usize) -> Option<usize> {
        let g = &self.groups[group];
        let fam = &self.families[g.family];
        if self.scheme != Scheme::Drg || fam.kind != Kind::Medical {
            return None;
        }
        self.families
            .iter()
            .enumerate()
            .filter(|(fi, f)| {
                *fi != g.family
                    && f.kind == Kind::Medical
                    && f.mdc == fam.mdc
                    && !f.dx_pool.is_empty()
            })
            .flat_map(|(_, f)| f.groups.iter().copied())
            .filter(|&k| {
                let t = &self.groups[k];
                t.severity == g.severity && t.weight >= 1.1 * g.weight
            })
            .min_by(|&a, &b| {
                self.groups[a]
                    .weight
                    .total_cmp(&self.groups[b].weight)
                    .then(a.cmp(&b))
            })
    }

    /// A main diagnosis of another medical family of the same MDC, picked by `hash`: an
    /// honest coder's main diagnosis that the dictionary edition files under another ADRG
    /// than the local grouper did (honest dictionary disagreement). `None` when the family
    /// has no such neighbour.
    pub fn neighbour_main_dx(&self, family: usize, hash: u64) -> Option<u32> {
        let fam = &self.families[family];
        if self.scheme != Scheme::Drg || fam.kind != Kind::Medical {
            return None;
        }
        let pools: Vec<&Vec<u32>> = self
            .families
            .iter()
            .enumerate()
            .filter(|(fi, f)| *fi != family && f.kind == Kind::Medical && f.mdc == fam.mdc)
            .map(|(_, f)| &f.dx_pool)
            .filter(|p| !p.is_empty())
            .collect();
        if pools.is_empty() {
            return None;
        }
        let pool = pools[(hash % pools.len() as u64) as usize];
        Some(pool[((hash >> 32) % pool.len() as u64) as usize])
    }

    /// A procedure of another surgical (non-OR) family of the same MDC and kind, picked by
    /// `hash`, that the dictionary files under no ADRG of `family`: the procedure-defined
    /// counterpart of [`Self::neighbour_main_dx`]. `None` under DIP, for a medical family,
    /// or when there is no such neighbour.
    pub fn neighbour_procedure(&self, family: usize, hash: u64) -> Option<u32> {
        let fam = &self.families[family];
        if self.scheme != Scheme::Drg || !matches!(fam.kind, Kind::Surgical | Kind::NonOr) {
            return None;
        }
        let here = self.procedures_of_adrg.get(&fam.code);
        let pool: Vec<u32> = self
            .families
            .iter()
            .enumerate()
            .filter(|(fi, f)| *fi != family && f.kind == fam.kind && f.mdc == fam.mdc)
            .filter_map(|(_, f)| f.groups.first().map(|&g| &self.groups[g].proc_pool))
            .flatten()
            .copied()
            .filter(|&p| !here.is_some_and(|h| h.contains(self.icd[p as usize].code.as_ref())))
            .collect();
        (!pool.is_empty()).then(|| pool[(hash % pool.len() as u64) as usize])
    }

    /// Expected (mean) cost in yuan of a group at a hospital level: the regional cost
    /// of its weight times the level's cost factor. The case generator's cost mixture
    /// has mean exactly this, so it is also what the analyzer's baseline benchmark
    /// converges to.
    pub fn expected_cost(&self, group: usize, level: u8) -> f64 {
        COST_PER_RW * self.groups[group].rw * level_cost_factor(level)
    }

    /// The regional benchmark cost a catalogue publishes for a group: the cost of its
    /// weight at a secondary hospital (level factor 1).
    pub fn published_benchmark(&self, group: usize) -> f64 {
        COST_PER_RW * self.groups[group].rw
    }

    /// Low-multiplier threshold of the scheme.
    pub fn low_threshold(&self) -> f64 {
        match self.scheme {
            Scheme::Drg => super::LOW_THRESHOLD_DRG,
            Scheme::Dip => super::LOW_THRESHOLD_DIP,
        }
    }

    /// High-multiplier threshold of a group.
    pub fn high_threshold(&self, group: usize) -> f64 {
        match self.scheme {
            Scheme::Drg => super::high_threshold_drg(self.groups[group].weight),
            Scheme::Dip => super::HIGH_THRESHOLD_DIP,
        }
    }
}

const COMMON_PLAIN: &[&str] = &[
    "I10.x00x002",
    "E11.900",
    "E78.500",
    "K76.000",
    "I25.103",
    "E03.900",
    "K29.500",
    "N40.x00",
    "D64.900",
    "N39.000",
    "I63.900",
];
const COMMON_CC: &[&str] = &[
    "E87.100", "J18.900", "E87.600", "M81.900", "J44.900", "E11.400", "D62.x00",
];
const COMMON_MCC: &[&str] = &[
    "J96.000", "J96.900", "I50.900", "I50.000", "A41.900", "N17.900", "R57.900", "J44.100",
    "K72.000", "R65.101",
];

/// Dictionary indices of the listed codes that exist and carry the expected flags
/// (a code missing from a future dictionary edition is skipped, not an error).
fn common(icd: &[Icd], codes: &[&str], ok: impl Fn(&Icd) -> bool) -> Vec<u32> {
    codes
        .iter()
        .filter_map(|code| icd.iter().position(|c| c.code == *code))
        .filter(|&i| ok(&icd[i]))
        .map(|i| i as u32)
        .collect()
}

/// Tertiary hospitals cost more for the same group, primary ones less.
pub(crate) fn level_cost_factor(level: u8) -> f64 {
    match level {
        3 => 1.15,
        2 => 1.0,
        _ => 0.85,
    }
}

/// A fixed pseudo-random popularity in [0.3, 3.3] so some conditions are common and
/// others rare, the same in every run.
fn base_pop(code: &str) -> f64 {
    (2.4 * (unit(fnv1a(code)) - 0.5)).exp()
}

struct PoolCtx<'a> {
    icd: &'a [Icd],
    dx_by_adrg: &'a BTreeMap<&'a str, Vec<u32>>,
    px_by_adrg: &'a BTreeMap<&'a str, Vec<u32>>,
    plain: &'a [u32],
}

impl PoolCtx<'_> {
    /// Main diagnoses of an ADRG; surgical ADRGs are defined by procedures, so their
    /// diagnoses come from the medical ADRGs of the same MDC.
    fn dx(&self, adrg: &str, mdc: u8) -> Vec<u32> {
        if let Some(v) = self.dx_by_adrg.get(adrg) {
            return tidy_pool(self.icd, v.clone(), 60);
        }
        let same_mdc: Vec<u32> = self
            .plain
            .iter()
            .copied()
            .filter(|&i| {
                let a = self.icd[i as usize].adrg.as_bytes();
                a.len() == 3
                    && a[0] == mdc
                    && kind_of_adrg(&self.icd[i as usize].adrg) == Kind::Medical
            })
            .collect();
        if same_mdc.is_empty() {
            tidy_pool(self.icd, self.plain.to_vec(), 60)
        } else {
            tidy_pool(self.icd, same_mdc, 60)
        }
    }

    /// Procedures defining an ADRG.
    fn px(&self, adrg: &str, mdc: u8, kind: Kind) -> Vec<u32> {
        match self.px_by_adrg.get(adrg) {
            Some(v) => tidy_pool(self.icd, v.clone(), 30),
            None => self.mdc_px(mdc, kind, 0),
        }
    }

    /// Procedures of the given kind within an MDC (falling back to any MDC); `salt`
    /// offsets the pick so sibling DIP treatments get different procedures.
    fn mdc_px(&self, mdc: u8, kind: Kind, salt: usize) -> Vec<u32> {
        let pick = |mdc_only: bool| -> Vec<u32> {
            self.px_by_adrg
                .iter()
                .filter(|(a, _)| kind_of_adrg(a) == kind && (!mdc_only || a.as_bytes()[0] == mdc))
                .flat_map(|(_, v)| v.iter().copied())
                .collect()
        };
        let mut v = pick(true);
        if v.is_empty() {
            v = pick(false);
        }
        let v = tidy_pool(self.icd, v, 60);
        // Alternate halves so `diag` and `proc` of one family differ.
        let out: Vec<u32> = v.iter().copied().skip(salt % 2).step_by(2).collect();
        if out.is_empty() { v } else { out }
    }
}
