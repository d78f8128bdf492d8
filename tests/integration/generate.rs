//! `generate` through the binary: Chinese headers saved as GBK audit exactly like the
//! canonical UTF-8 file (the acceptance check of the foundation issue).

use crate::common::*;

#[test]
fn chinese_headers_in_gbk_give_the_same_counts_and_ranking_as_canonical_utf8() {
    let w = Workdir::new();
    for (dir, extra) in [
        ("utf8", vec![]),
        ("gbk", vec!["--chinese-headers", "--gbk"]),
    ] {
        let mut args = vec![
            "generate",
            "--out",
            dir,
            "--seed",
            "7",
            "--cases-per-year",
            "4000",
        ];
        args.extend(extra);
        let o = w.run(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let header = std::fs::read(w.path("gbk/cases.csv")).unwrap();
    assert!(
        std::str::from_utf8(&header).is_err(),
        "the file really is GBK"
    );
    let (decoded, _, _) = encoding_rs::GBK.decode(&header[..200]);
    assert!(decoded.starts_with("结算ID"), "{decoded}");
    for dir in ["utf8", "gbk"] {
        let o = w.run(&[
            "run",
            "--cases",
            &format!("{dir}/cases.csv"),
            "--groups",
            &format!("{dir}/groups.csv"),
            "--config",
            &format!("{dir}/region.toml"),
            "--out",
            &format!("out-{dir}"),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (a, b) = (summary(&w.path("out-utf8")), summary(&w.path("out-gbk")));
    assert_eq!(a["rows"], b["rows"]);
    assert!(a["rows"]["read"].as_u64().unwrap() > 7000);
    assert_eq!(a["rows"]["reconciles"], true);
    assert_eq!(a["band_mix"], b["band_mix"]);
    assert_eq!(a["point_value"], b["point_value"]);
    assert_eq!(b["ingest"]["encoding"], "gb18030");
    let ha = std::fs::read_to_string(w.path("out-utf8/hospitals.csv")).unwrap();
    let hb = std::fs::read_to_string(w.path("out-gbk/hospitals.csv")).unwrap();
    assert_eq!(ha, hb, "same ranking, same names after decoding");
}
