//! Text encodings of CSV exports: UTF-8 (with or without BOM) and GB18030/GBK, which Chinese
//! spreadsheet software writes by default. GB18030 input is transcoded once to a temporary
//! UTF-8 file so the CSV engine can stream it.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use serde::Serialize;

use crate::error::{AuditError, Result};

/// The detected encoding of a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextEncoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 starting with a byte-order mark (Excel's "CSV UTF-8").
    Utf8Bom,
    /// GB18030, a superset of GBK and GB2312.
    Gb18030,
}

/// How many leading bytes decide the encoding. A Chinese header or hospital name in GBK is
/// invalid UTF-8 almost at once, so a prefix is enough; a file that turns invalid later is
/// caught by the CSV engine with a clear message.
const SNIFF_BYTES: usize = 8 << 20;

/// Detects the encoding from the file's first bytes.
pub fn detect(path: &Path) -> Result<TextEncoding> {
    let mut buf = Vec::with_capacity(64 * 1024);
    File::open(path)
        .map_err(|e| AuditError::io(path, e))?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut buf)
        .map_err(|e| AuditError::io(path, e))?;
    Ok(detect_bytes(&buf))
}

/// Detects the encoding of a byte prefix (a UTF-8 sequence cut at the end is fine).
pub fn detect_bytes(buf: &[u8]) -> TextEncoding {
    if buf.starts_with(b"\xEF\xBB\xBF") {
        return TextEncoding::Utf8Bom;
    }
    match std::str::from_utf8(buf) {
        Ok(_) => TextEncoding::Utf8,
        Err(e) if e.error_len().is_none() => TextEncoding::Utf8,
        Err(_) => TextEncoding::Gb18030,
    }
}

/// Transcodes a GB18030 file into a UTF-8 file, streaming in blocks.
pub fn transcode_gb18030(src: &Path, dst: &Path) -> Result<()> {
    let mut input = File::open(src).map_err(|e| AuditError::io(src, e))?;
    let out = File::create(dst).map_err(|e| AuditError::io(dst, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let mut inbuf = vec![0u8; 1 << 20];
    let mut outbuf = String::with_capacity(3 << 20);
    loop {
        let n = input.read(&mut inbuf).map_err(|e| AuditError::io(src, e))?;
        let last = n == 0;
        let mut consumed = 0;
        loop {
            outbuf.clear();
            let (result, read, _) =
                decoder.decode_to_string(&inbuf[consumed..n], &mut outbuf, last);
            consumed += read;
            out.write_all(outbuf.as_bytes())
                .map_err(|e| AuditError::io(dst, e))?;
            if result == encoding_rs::CoderResult::InputEmpty {
                break;
            }
        }
        if last {
            break;
        }
    }
    out.flush().map_err(|e| AuditError::io(dst, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_bom_and_gbk_are_told_apart() {
        assert_eq!(detect_bytes("结算ID,x".as_bytes()), TextEncoding::Utf8);
        assert_eq!(detect_bytes(b"\xEF\xBB\xBFcase_id"), TextEncoding::Utf8Bom);
        let (gbk, _, _) = encoding_rs::GBK.encode("结算ID,定点医药机构编号");
        assert_eq!(detect_bytes(&gbk), TextEncoding::Gb18030);
        // A UTF-8 character cut by the sniff window is still UTF-8.
        let s = "医院".as_bytes();
        assert_eq!(detect_bytes(&s[..4]), TextEncoding::Utf8);
    }

    #[test]
    fn gb18030_transcodes_to_the_same_text() {
        let dir = tempfile::tempdir().unwrap();
        let text = "结算ID,医院\n1,市第一人民医院\n".repeat(50_000);
        let (gbk, _, _) = encoding_rs::GB18030.encode(&text);
        let src = dir.path().join("in.csv");
        let dst = dir.path().join("out.csv");
        std::fs::write(&src, &gbk).unwrap();
        transcode_gb18030(&src, &dst).unwrap();
        assert_eq!(std::fs::read_to_string(&dst).unwrap(), text);
    }
}
