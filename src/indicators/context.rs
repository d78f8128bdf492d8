//! What every indicator reads: the analysed [`Region`], the clustering stage's results when
//! it ran, and the language of reasons and details.

use std::ops::Deref;

use crate::cluster::ClusterView;
use crate::lang::Lang;
use crate::region::Region;

/// `format!` in the run's language: `say!(ctx, "中文 {}", "English {}", args…)`.
macro_rules! say {
    ($ctx:expr, $zh:literal, $en:literal $(, $arg:expr)* $(,)?) => {
        match $ctx.lang {
            $crate::lang::Lang::Zh => format!($zh $(, $arg)*),
            $crate::lang::Lang::En => format!($en $(, $arg)*),
        }
    };
}
pub(crate) use say;

/// The indicators' view: the region (read through [`Deref`], so `ctx.cases` reads the
/// region's cases), the clusters and the language.
pub struct Ctx<'a> {
    /// The analysed region.
    pub region: &'a Region<'a>,
    /// Clustering results, when the clustering stage ran (enough cases to cluster).
    pub clusters: Option<&'a ClusterView>,
    /// Language of reasons and details.
    pub lang: Lang,
}

impl<'a> Deref for Ctx<'a> {
    type Target = Region<'a>;

    fn deref(&self) -> &Region<'a> {
        self.region
    }
}

impl<'a> Ctx<'a> {
    /// The indicators' view of `region`.
    pub fn new(region: &'a Region<'a>, clusters: Option<&'a ClusterView>, lang: Lang) -> Self {
        Ctx {
            region,
            clusters,
            lang,
        }
    }

    /// Growth of stays and points against the baseline, the hospital's and its same-level
    /// peers' (peers pooled, hospital left out), in words.
    pub fn growth_words(&self, h: usize) -> String {
        let lv = self.hospital_level[h];
        let peers = self.peer_growth_base(h, lv);
        let g = |a: f64, b: f64| {
            if b > 0.0 {
                format!("{:+.0}%", 100.0 * (a / b - 1.0))
            } else {
                say!(self, "无基期", "n/a")
            }
        };
        let own = self.volume[h];
        say!(
            self,
            "点数 {}（同级 {}），人次 {}（同级 {}）",
            "points {} (peers {}), stays {} (peers {})",
            g(own[1].1, own[0].1),
            g(peers[1].1, peers[0].1),
            g(own[1].0, own[0].0),
            g(peers[1].0, peers[0].0)
        )
    }
}
