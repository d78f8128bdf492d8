//! The column vocabulary of CONTRACT §1–2: canonical names and every accepted spelling.
//!
//! Users export settlement lists from many systems, so a header may be the canonical name,
//! the national settlement-list interface key (`setl_id`, `fixmedins_code`, …) or the Chinese
//! label (`结算ID`, `定点医药机构编号`, …). Matching ignores case, spaces, underscores and
//! hyphens, and a UTF-8 byte-order mark stuck to the first header.

/// The 14 fee categories of the national settlement list (医疗收费项目类别 01–14), in order.
pub const FEE_COLUMNS: [&str; 14] = [
    "fee_bed",
    "fee_consultation",
    "fee_exam",
    "fee_lab",
    "fee_treatment",
    "fee_surgery",
    "fee_nursing",
    "fee_material",
    "fee_western_drug",
    "fee_tcm_herbal",
    "fee_patent_drug",
    "fee_general",
    "fee_registration",
    "fee_other",
];

const FEE_LABELS_ZH: [&str; 14] = [
    "床位费",
    "诊察费",
    "检查费",
    "化验费",
    "治疗费",
    "手术费",
    "护理费",
    "卫生材料费",
    "西药费",
    "中药饮片费",
    "中成药费",
    "一般诊疗费",
    "挂号费",
    "其他费",
];

/// One column of a contract table with its accepted spellings.
#[derive(Debug, Clone)]
pub struct ColumnSpec {
    /// The canonical name used everywhere inside the tool.
    pub canonical: &'static str,
    /// Whether a file without this column is refused.
    pub required: bool,
    /// Other accepted spellings (national interface key, Chinese label, common variants).
    pub aliases: Vec<String>,
}

impl ColumnSpec {
    fn new(canonical: &'static str, required: bool, aliases: &[&str]) -> Self {
        ColumnSpec {
            canonical,
            required,
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// All spellings, canonical first, for error messages.
    pub fn spellings(&self) -> String {
        std::iter::once(self.canonical.to_string())
            .chain(self.aliases.iter().cloned())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn matches(&self, normalised: &str) -> bool {
        normalise_header(self.canonical) == normalised
            || self
                .aliases
                .iter()
                .any(|a| normalise_header(a) == normalised)
    }
}

/// Normalises a header for matching: strips a BOM, lower-cases, drops spaces, `_` and `-`.
pub fn normalise_header(raw: &str) -> String {
    raw.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The case table of CONTRACT §1.
pub fn case_columns() -> Vec<ColumnSpec> {
    let mut cols = vec![
        ColumnSpec::new("case_id", true, &["setl_id", "结算ID", "结算编号"]),
        ColumnSpec::new("hospital_id", true, &["fixmedins_code", "定点医药机构编号"]),
        ColumnSpec::new(
            "hospital_name",
            false,
            &["fixmedins_name", "定点医药机构名称"],
        ),
        ColumnSpec::new("hospital_level", false, &["hi_setl_lv", "医保结算等级"]),
        ColumnSpec::new("patient_id", true, &["psn_no", "人员编号"]),
        ColumnSpec::new("admit_date", true, &["adm_time", "入院时间"]),
        ColumnSpec::new("discharge_date", true, &["dscg_time", "出院时间"]),
        ColumnSpec::new("los_days", false, &["act_ipt_days", "实际住院天数"]),
        ColumnSpec::new(
            "group_code",
            true,
            &[
                "drg_codg",
                "dip_codg",
                "病组编码",
                "病种编码",
                "drg_code",
                "dip_code",
            ],
        ),
        ColumnSpec::new("total_cost", true, &["medfee_sumamt", "医疗费总额"]),
        ColumnSpec::new("main_diagnosis", false, &["主要诊断编码", "main_diag_code"]),
        ColumnSpec::new(
            "secondary_diagnoses",
            false,
            &["其他诊断编码", "other_diag_codes"],
        ),
        ColumnSpec::new(
            "main_procedure",
            false,
            &["主要手术操作编码", "main_oprn_code"],
        ),
        ColumnSpec::new(
            "other_procedures",
            false,
            &["其他手术操作编码", "other_oprn_codes"],
        ),
        ColumnSpec::new("discharge_disposition", false, &["dscg_way", "离院方式"]),
        ColumnSpec::new(
            "planned_readmission_31d",
            false,
            &["days_rinp_flag_31", "出院31天内再住院计划"],
        ),
        ColumnSpec::new("department", false, &["dscg_caty", "出院科别"]),
        ColumnSpec::new("physician_id", false, &["chfpdr_code", "主诊医师代码"]),
        ColumnSpec::new("age", false, &["年龄"]),
        ColumnSpec::new("sex", false, &["gend", "性别"]),
        ColumnSpec::new("insurance_type", false, &["hi_type", "险种类型"]),
        ColumnSpec::new("fund_paid", false, &["hifp_pay", "统筹基金支付"]),
        ColumnSpec::new("self_pay", false, &["psn_selfpay", "个人自付"]),
        ColumnSpec::new("own_expense", false, &["psn_ownpay", "个人自费"]),
    ];
    for (i, (fee, zh)) in FEE_COLUMNS.iter().zip(FEE_LABELS_ZH).enumerate() {
        let key = format!("med_chrgitm_{:02}", i + 1);
        cols.push(ColumnSpec {
            canonical: fee,
            required: false,
            aliases: vec![key, zh.to_string()],
        });
    }
    cols
}

/// The group catalogue of CONTRACT §2.
pub fn group_columns() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new(
            "group_code",
            true,
            &[
                "drg_code",
                "dip_code",
                "drg_codg",
                "dip_codg",
                "病组编码",
                "病种编码",
            ],
        ),
        ColumnSpec::new("weight", true, &["rw", "score", "权重", "分值", "病种分值"]),
        ColumnSpec::new("family", false, &["adrg", "病组家族", "核心疾病诊断相关组"]),
        ColumnSpec::new("severity", false, &["严重程度"]),
        ColumnSpec::new("benchmark_cost", false, &["基准费用", "次均费用"]),
        ColumnSpec::new("benchmark_los", false, &["平均住院日", "基准住院日"]),
        ColumnSpec::new(
            "group_name",
            false,
            &["drg_name", "dip_name", "病组名称", "病种名称"],
        ),
    ]
}

/// The diagnosis table of the national settlement list (`--diagnoses`): one row per
/// diagnosis of a settlement. `maindiag_flag` (1 = the main diagnosis) or, in exports that
/// have no flag, `diag_type` (1 = main, 2 = other); when both are present the flag decides.
pub fn diagnosis_columns() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("setl_id", true, &["case_id", "结算ID", "结算编号"]),
        ColumnSpec::new(
            "diag_code",
            true,
            &["诊断代码", "诊断编码", "diagnosis_code", "疾病诊断编码"],
        ),
        ColumnSpec::new("maindiag_flag", false, &["主诊断标志", "main_flag"]),
        ColumnSpec::new("diag_type", false, &["诊断类别", "诊断类型"]),
    ]
}

/// The procedure table of the national settlement list (`--procedures`): one row per
/// procedure of a settlement, `main_oprn_flag` 1 = the main procedure.
pub fn procedure_columns() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("setl_id", true, &["case_id", "结算ID", "结算编号"]),
        ColumnSpec::new(
            "oprn_oprt_code",
            true,
            &["手术操作代码", "手术操作编码", "procedure_code"],
        ),
        ColumnSpec::new("main_oprn_flag", true, &["主手术操作标志", "main_flag"]),
    ]
}

/// The canonical name a header means in `spec`, if any.
pub fn canonical_name(header: &str, spec: &[ColumnSpec]) -> Option<&'static str> {
    let norm = normalise_header(header);
    spec.iter().find(|c| c.matches(&norm)).map(|c| c.canonical)
}

/// Where each canonical column sits in a file: `(canonical, header as written)`.
#[derive(Debug, Clone, Default)]
pub struct ColumnMapping {
    /// Canonical name → the header exactly as it appears in the file.
    pub found: Vec<(&'static str, String)>,
    /// Headers that matched no contract column; kept in the file and ignored.
    pub unknown: Vec<String>,
}

impl ColumnMapping {
    /// The file's header for a canonical column, if present.
    pub fn get(&self, canonical: &str) -> Option<&str> {
        self.found
            .iter()
            .find(|(c, _)| *c == canonical)
            .map(|(_, h)| h.as_str())
    }

    /// Whether the canonical column is present.
    pub fn has(&self, canonical: &str) -> bool {
        self.get(canonical).is_some()
    }
}

/// Why a header row cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub enum MappingProblem {
    /// A required column is absent; carries the accepted spellings.
    Missing {
        canonical: &'static str,
        spellings: String,
    },
    /// Two file columns mean the same contract column.
    Ambiguous {
        canonical: &'static str,
        first: String,
        second: String,
    },
}

impl MappingProblem {
    /// The one-line error for a header that cannot be used, naming the file.
    pub fn into_error(self, path: &std::path::Path) -> crate::error::AuditError {
        let message = match self {
            MappingProblem::Missing {
                canonical,
                spellings,
            } => {
                format!("required column {canonical} is missing; name a column one of: {spellings}")
            }
            MappingProblem::Ambiguous {
                canonical,
                first,
                second,
            } => {
                format!("columns '{first}' and '{second}' both mean {canonical}; keep one")
            }
        };
        crate::error::AuditError::input(path, "header", message)
    }
}

/// Maps a file's headers onto the contract columns.
pub fn map_headers(
    headers: &[String],
    spec: &[ColumnSpec],
) -> Result<ColumnMapping, MappingProblem> {
    let mut mapping = ColumnMapping::default();
    for header in headers {
        let norm = normalise_header(header);
        match spec.iter().find(|c| c.matches(&norm)) {
            Some(col) => {
                if let Some(first) = mapping.get(col.canonical) {
                    return Err(MappingProblem::Ambiguous {
                        canonical: col.canonical,
                        first: first.to_string(),
                        second: header.clone(),
                    });
                }
                mapping.found.push((col.canonical, header.clone()));
            }
            None => {
                // The CSV engine renames a repeated header `x_duplicated_0`: a column given
                // twice must not be read from one copy silently.
                if let Some((base, n)) = header.rsplit_once("_duplicated_")
                    && n.bytes().all(|b| b.is_ascii_digit())
                    && let Some(col) = spec.iter().find(|c| c.matches(&normalise_header(base)))
                {
                    return Err(MappingProblem::Ambiguous {
                        canonical: col.canonical,
                        first: base.to_string(),
                        second: base.to_string(),
                    });
                }
                mapping.unknown.push(header.clone())
            }
        }
    }
    if let Some(missing) = spec
        .iter()
        .find(|c| c.required && !mapping.has(c.canonical))
    {
        return Err(MappingProblem::Missing {
            canonical: missing.canonical,
            spellings: missing.spellings(),
        });
    }
    Ok(mapping)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    const REQUIRED_SPELLINGS: [[&str; 3]; 7] = [
        ["case_id", "SETL_ID", "结算ID"],
        ["hospital_id", "fixmedins_code", "定点医药机构编号"],
        ["patient_id", "psn_no", "人员编号"],
        ["admit_date", "Adm Time", "入院时间"],
        ["discharge_date", "dscg_time", "出院时间"],
        ["group_code", "drg_codg", "病种编码"],
        ["total_cost", "MEDFEE_SUMAMT", "医疗费总额"],
    ];

    #[test]
    fn every_spelling_of_every_required_column_maps_to_its_canonical_name() {
        for style in 0..3 {
            let hs: Vec<String> = REQUIRED_SPELLINGS
                .iter()
                .map(|s| s[style].to_string())
                .collect();
            let m = map_headers(&hs, &case_columns()).expect("maps");
            for s in REQUIRED_SPELLINGS {
                assert_eq!(m.get(s[0]), Some(s[style]), "style {style} column {}", s[0]);
            }
        }
    }

    #[test]
    fn every_optional_alias_maps() {
        for col in case_columns() {
            for alias in &col.aliases {
                assert!(
                    col.matches(&normalise_header(alias)),
                    "{alias} for {}",
                    col.canonical
                );
            }
        }
        let m = map_headers(
            &headers(&[
                "setl_id",
                "fixmedins_code",
                "psn_no",
                "adm_time",
                "dscg_time",
                "dip_codg",
                "medfee_sumamt",
                "med_chrgitm_08",
                "卫生材料费x",
                "hi_setl_lv",
                "days_rinp_flag_31",
            ]),
            &case_columns(),
        )
        .expect("maps");
        assert_eq!(m.get("fee_material"), Some("med_chrgitm_08"));
        assert_eq!(m.get("hospital_level"), Some("hi_setl_lv"));
        assert_eq!(m.get("planned_readmission_31d"), Some("days_rinp_flag_31"));
        assert_eq!(m.unknown, vec!["卫生材料费x".to_string()]);
    }

    #[test]
    fn bom_case_spaces_and_underscores_are_ignored() {
        assert_eq!(normalise_header("\u{feff}Case ID"), "caseid");
        assert_eq!(normalise_header("  TOTAL_cost "), "totalcost");
    }

    #[test]
    fn a_missing_required_column_names_its_spellings() {
        let err = map_headers(&headers(&["case_id", "hospital_id"]), &case_columns()).unwrap_err();
        match err {
            MappingProblem::Missing {
                canonical,
                spellings,
            } => {
                assert_eq!(canonical, "patient_id");
                assert!(spellings.contains("psn_no") && spellings.contains("人员编号"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn two_spellings_of_one_column_are_ambiguous() {
        let err = map_headers(&headers(&["case_id", "setl_id"]), &case_columns()).unwrap_err();
        assert!(matches!(
            err,
            MappingProblem::Ambiguous {
                canonical: "case_id",
                ..
            }
        ));
    }
}
