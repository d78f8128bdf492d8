//! The hospital roster of the synthetic region: levels, names, volumes and roles.

use serde::{Deserialize, Serialize};

use super::{GamingPattern, GamingSpec, GenerateError, GenerateOptions};

/// Default gaming hospitals (see [`super::default_gaming`]).
pub(crate) const UPCODER_TERTIARY: &str = "H004";
pub(crate) const HIGH_PADDER: &str = "H006";
pub(crate) const SPLITTER: &str = "H008";
pub(crate) const UPCODER_SECONDARY: &str = "H010";
pub(crate) const LOW_PADDER: &str = "H014";
pub(crate) const LOW_STANDARD: &str = "H025";

/// Ground-truth role of a hospital. Every confounder is honest: its stays are coded
/// correctly for its own patients; what it does merely looks unusual beside its peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An ordinary honest hospital.
    Clean,
    /// A hospital with injected gaming (only ever the truth role, never a base role).
    Gaming,
    /// A tertiary hospital whose patients really are sicker: more CC/MCC cases, with
    /// the cost and stay of the heavier groups they are coded in.
    SickerTertiary,
    /// Chemotherapy cycles: planned readmissions every 3–4 weeks.
    OncologyCentre,
    /// Volume grows by a third in the audited year, case mix unchanged.
    HonestGrowth,
    /// 15–40 stays a year.
    TinyClinic,
    /// Shorter stays and lower cost in every group (lean pathways).
    Efficient,
    /// Long stays at a low cost per day, mostly neurology and musculoskeletal
    /// medicine, no surgery.
    Rehabilitation,
    /// Another hospital merged in: volume doubles in the audited year, mix unchanged.
    Merger,
    /// Patients aged 0–14: newborns, respiratory and digestive illness, no obstetrics.
    Childrens,
    /// Traditional Chinese medicine: lower cost and longer stays for the same groups,
    /// herbal and patent-drug fees.
    Tcm,
}

impl Role {
    /// The role's name in `truth_hospitals.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clean => "clean",
            Role::Gaming => "gaming",
            Role::SickerTertiary => "confounder_sicker_tertiary",
            Role::OncologyCentre => "confounder_oncology_centre",
            Role::HonestGrowth => "confounder_honest_growth",
            Role::TinyClinic => "confounder_tiny_clinic",
            Role::Efficient => "confounder_efficient",
            Role::Rehabilitation => "confounder_rehabilitation",
            Role::Merger => "confounder_merger",
            Role::Childrens => "confounder_childrens",
            Role::Tcm => "confounder_tcm",
        }
    }

    /// Cost of a stay against the level's group mean (1 = the peers' cost).
    pub(crate) fn cost_factor(self) -> f64 {
        match self {
            Role::Efficient => 0.8,
            Role::Tcm => 0.85,
            Role::Rehabilitation => 1.1,
            _ => 1.0,
        }
    }

    /// Length of stay against the group mean.
    pub(crate) fn los_factor(self) -> f64 {
        match self {
            Role::Efficient => 0.7,
            Role::Tcm => 1.25,
            Role::Rehabilitation => 2.2,
            _ => 1.0,
        }
    }

    /// Specialist hospitals take no general referrals (a readmitted adult does not go
    /// to a children's or a rehabilitation hospital).
    pub(crate) fn takes_referrals(self) -> bool {
        !matches!(
            self,
            Role::TinyClinic | Role::Childrens | Role::Rehabilitation
        )
    }
}

/// One hospital of a custom roster ([`GenerateOptions::roster`]); ids are given in
/// order, `H001` first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HospitalSpec {
    /// Name as written in `cases.csv`.
    pub name: String,
    /// 1 primary, 2 secondary, 3 tertiary.
    pub level: u8,
    /// Honest role (gaming is attached through [`GenerateOptions::gaming`]).
    pub role: Role,
    /// Relative volume (tertiary ≈ 10, secondary ≈ 3, primary ≈ 0.8); ignored for
    /// tiny clinics.
    pub units: f64,
}

/// One hospital of the region.
pub(crate) struct Hospital {
    /// Position in the roster; also the RNG stream id.
    pub index: usize,
    pub id: String,
    pub name: String,
    /// 1 primary, 2 secondary, 3 tertiary.
    pub level: u8,
    /// Role before gaming is attached (a confounder may also be made to game).
    pub base_role: Role,
    /// Traditional Chinese medicine hospital: more herbal and patent-drug fees.
    pub tcm: bool,
    /// Relative volume (tertiary ≈ 10, secondary ≈ 3, primary ≈ 0.8); 0 for the tiny
    /// clinics, whose volume is fixed at 15–40 stays a year whatever the scale.
    pub units: f64,
    /// Gaming injected here, in option order.
    pub gaming: Vec<GamingSpec>,
}

impl Hospital {
    /// The truth role: any injected gaming makes the hospital a gaming hospital.
    pub fn role(&self) -> Role {
        if self.gaming.is_empty() {
            self.base_role
        } else {
            Role::Gaming
        }
    }

    /// The active spec of `pattern` in discharge year `year`, if any.
    pub fn active(&self, pattern: GamingPattern, year: i32) -> Option<&GamingSpec> {
        self.gaming
            .iter()
            .find(|g| g.pattern == pattern && year >= g.start_year)
    }

    pub fn is_tiny(&self) -> bool {
        self.base_role == Role::TinyClinic
    }

    /// Cost of a stay against the level's group mean.
    pub fn cost_factor(&self) -> f64 {
        self.base_role.cost_factor()
    }

    /// Length of stay against the group mean.
    pub fn los_factor(&self) -> f64 {
        self.base_role.los_factor()
    }

    /// Severity / treatment mix profile: 0 primary, 1 secondary, 2 tertiary, 3 the
    /// truly sicker tertiary population.
    pub fn profile(&self) -> usize {
        if self.base_role == Role::SickerTertiary {
            3
        } else {
            usize::from(self.level.clamp(1, 3) - 1)
        }
    }

    /// Attending physicians per department: bigger hospitals spread cases wider.
    pub fn physicians_per_dept(&self) -> u8 {
        match self.level {
            3 => 8,
            2 => 4,
            _ => 2,
        }
    }
}

/// (name, level, role, volume units). The order fixes the ids H001…; the default
/// gaming constants above point into it.
const ROSTER: &[(&str, u8, Role, f64)] = &[
    ("市第一人民医院", 3, Role::Clean, 11.0),
    ("医科大学附属第一医院", 3, Role::SickerTertiary, 12.0),
    ("市肿瘤医院", 3, Role::OncologyCentre, 6.0),
    ("市中心医院", 3, Role::Clean, 10.0),
    ("市中医院", 3, Role::Clean, 8.0),
    ("市第二人民医院", 3, Role::Clean, 9.0),
    ("城东区人民医院", 2, Role::Clean, 3.0),
    ("城西区人民医院", 2, Role::Clean, 3.2),
    ("城南区人民医院", 2, Role::Clean, 2.8),
    ("城北区人民医院", 2, Role::Clean, 3.0),
    ("新区人民医院", 2, Role::Clean, 2.6),
    ("东县人民医院", 2, Role::HonestGrowth, 3.0),
    ("西县人民医院", 2, Role::Clean, 3.4),
    ("南县人民医院", 2, Role::Clean, 2.9),
    ("北县人民医院", 2, Role::Clean, 2.7),
    ("东县中医院", 2, Role::Clean, 2.0),
    ("西县中医院", 2, Role::Clean, 2.2),
    ("河口县人民医院", 2, Role::Clean, 3.1),
    ("山阳县人民医院", 2, Role::Clean, 2.5),
    ("临江县人民医院", 2, Role::Clean, 3.3),
    ("红旗镇卫生院", 1, Role::Clean, 0.9),
    ("新民镇卫生院", 1, Role::Clean, 0.8),
    ("永安镇卫生院", 1, Role::Clean, 0.7),
    ("太平镇卫生院", 1, Role::Clean, 1.0),
    ("兴隆镇卫生院", 1, Role::Clean, 0.8),
    ("长岭镇卫生院", 1, Role::Clean, 0.6),
    ("青山镇卫生院", 1, Role::Clean, 0.9),
    ("石桥镇卫生院", 1, Role::Clean, 0.7),
    ("柳河镇卫生院", 1, Role::Clean, 0.8),
    ("白杨乡卫生院", 1, Role::Clean, 0.5),
    ("双井乡卫生院", 1, Role::Clean, 0.6),
    ("杏花乡卫生院", 1, Role::Clean, 0.5),
    ("松林乡卫生院", 1, Role::Clean, 0.6),
    ("清河乡卫生院", 1, Role::Clean, 0.7),
    ("安乐乡卫生院", 1, Role::Clean, 0.5),
    ("和平街道社区卫生服务中心", 1, Role::Clean, 0.9),
    ("建设街道社区卫生服务中心", 1, Role::Clean, 1.0),
    ("胜利街道社区卫生服务中心", 1, Role::Clean, 0.8),
    ("光明街道社区卫生服务中心", 1, Role::Clean, 0.9),
    ("友谊街道社区卫生服务中心", 1, Role::Clean, 1.1),
    ("仁和医院", 1, Role::TinyClinic, 0.0),
    ("济民医院", 1, Role::TinyClinic, 0.0),
    ("康泰医院", 1, Role::TinyClinic, 0.0),
];

/// Builds the roster and attaches the gaming specs; rejects unknown hospitals and a
/// pattern given twice for one hospital.
pub(crate) fn roster(opts: &GenerateOptions) -> Result<Vec<Hospital>, GenerateError> {
    let entries: Vec<(String, u8, Role, f64)> = match &opts.roster {
        Some(specs) => specs
            .iter()
            .map(|s| (s.name.clone(), s.level, s.role, s.units))
            .collect(),
        None => ROSTER
            .iter()
            .map(|&(name, level, role, units)| (name.to_string(), level, role, units))
            .collect(),
    };
    let mut hospitals: Vec<Hospital> = entries
        .into_iter()
        .enumerate()
        .map(|(index, (name, level, base_role, units))| Hospital {
            index,
            id: format!("H{:03}", index + 1),
            tcm: base_role == Role::Tcm || name.contains("中医"),
            name,
            level,
            base_role,
            units: if base_role == Role::TinyClinic {
                0.0
            } else {
                units
            },
            gaming: Vec::new(),
        })
        .collect();
    let roster_len = hospitals.len();
    for spec in &opts.gaming {
        let Some(h) = hospitals.iter_mut().find(|h| h.id == spec.hospital_id) else {
            return Err(GenerateError::Invalid(format!(
                "gaming hospital {} is not in the generated roster: use an id from H001 to H{:03}",
                spec.hospital_id, roster_len
            )));
        };
        if h.gaming.iter().any(|g| g.pattern == spec.pattern) {
            return Err(GenerateError::Invalid(format!(
                "gaming pattern {} is given twice for {}: keep one",
                spec.pattern.as_str(),
                spec.hospital_id
            )));
        }
        h.gaming.push(spec.clone());
    }
    Ok(hospitals)
}
