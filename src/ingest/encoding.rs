//! Text encodings of CSV exports: UTF-8 (with or without BOM), GB18030/GBK, which Chinese
//! spreadsheet software writes by default, and UTF-16 with a byte-order mark (Excel's
//! "Unicode text"). GB18030 and UTF-16 input is transcoded once to a temporary UTF-8 file so
//! the CSV engine can stream it.

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
    /// UTF-16 little-endian with a byte-order mark (Excel's "Unicode text" on Windows).
    Utf16Le,
    /// UTF-16 big-endian with a byte-order mark.
    Utf16Be,
}

/// How many leading bytes decide the encoding. A Chinese header or hospital name in GBK is
/// invalid UTF-8 almost at once, so a prefix is enough.
const SNIFF_BYTES: usize = 8 << 20;

/// The encoding decision, taken on evidence from the file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Decodes as this encoding.
    Clean(TextEncoding),
    /// UTF-8 but for a few invalid bytes (a stray Latin-1 byte from a copy-paste): read as
    /// UTF-8 with those bytes replaced, their lines reported. Decoding the whole file as
    /// GB18030 because of one byte would garble every Chinese name.
    Utf8WithInvalidBytes,
}

/// Decides the encoding from the file's first bytes, or says in one line what the file is
/// when it is no CSV text this program reads (UTF-16, an Excel workbook, neither encoding).
pub fn detect(path: &Path) -> Result<Decision> {
    let mut buf = Vec::with_capacity(64 * 1024);
    File::open(path)
        .map_err(|e| AuditError::io(path, e))?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut buf)
        .map_err(|e| AuditError::io(path, e))?;
    // A prefix cut inside a character would count as an error: judge whole lines only.
    let judged = match memchr::memrchr(b'\n', &buf) {
        Some(i) if buf.len() == SNIFF_BYTES => &buf[..=i],
        _ => &buf[..],
    };
    judge_bytes(judged).map_err(|why| AuditError::input(path, "file", why))
}

/// Detects the encoding of a byte prefix (a UTF-8 sequence cut at the end is fine).
pub fn detect_bytes(buf: &[u8]) -> TextEncoding {
    match judge_bytes(buf) {
        Ok(Decision::Clean(e)) => e,
        Ok(Decision::Utf8WithInvalidBytes) => TextEncoding::Utf8,
        Err(_) => TextEncoding::Gb18030,
    }
}

/// The decision on a byte prefix. UTF-8 wins when it decodes, or when its valid multi-byte
/// characters outnumber its invalid sequences tenfold; GB18030 only when it decodes without
/// an error and UTF-8 has little evidence for it.
pub fn judge_bytes(buf: &[u8]) -> std::result::Result<Decision, String> {
    if buf.starts_with(b"\xEF\xBB\xBF") {
        return Ok(Decision::Clean(TextEncoding::Utf8Bom));
    }
    if buf.starts_with(b"\xFF\xFE") {
        return Ok(Decision::Clean(TextEncoding::Utf16Le));
    }
    if buf.starts_with(b"\xFE\xFF") {
        return Ok(Decision::Clean(TextEncoding::Utf16Be));
    }
    if buf.starts_with(b"PK\x03\x04") {
        return Err(
            "is an Excel workbook (.xlsx) or another zip file, not CSV; save the sheet \
                    as \"CSV UTF-8\""
                .into(),
        );
    }
    if buf.starts_with(b"\xD0\xCF\x11\xE0") {
        return Err(
            "is an old Excel workbook (.xls), not CSV; save the sheet as \"CSV UTF-8\"".into(),
        );
    }
    let (valid, invalid) = utf8_evidence(buf);
    if invalid == 0 {
        return Ok(Decision::Clean(TextEncoding::Utf8));
    }
    let (_, gb_errors) = encoding_rs::GB18030.decode_without_bom_handling(buf);
    if !gb_errors && valid <= invalid {
        return Ok(Decision::Clean(TextEncoding::Gb18030));
    }
    if valid >= 10 * invalid {
        return Ok(Decision::Utf8WithInvalidBytes);
    }
    if !gb_errors {
        return Ok(Decision::Clean(TextEncoding::Gb18030));
    }
    Err(format!(
        "is neither UTF-8 nor GB18030 text ({invalid} invalid UTF-8 sequences and GB18030 errors \
         in the first {} MB); save it as \"CSV UTF-8\"",
        SNIFF_BYTES >> 20
    ))
}

/// Valid multi-byte UTF-8 characters and invalid sequences in `buf` (a sequence cut at the
/// end counts as neither).
fn utf8_evidence(mut buf: &[u8]) -> (u64, u64) {
    let (mut valid, mut invalid) = (0u64, 0u64);
    loop {
        match std::str::from_utf8(buf) {
            Ok(s) => {
                valid += s.chars().filter(|c| !c.is_ascii()).count() as u64;
                return (valid, invalid);
            }
            Err(e) => {
                let good = e.valid_up_to();
                // The prefix up to the error is valid UTF-8.
                valid += std::str::from_utf8(&buf[..good])
                    .map_or(0, |s| s.chars().filter(|c| !c.is_ascii()).count() as u64);
                match e.error_len() {
                    None => return (valid, invalid),
                    Some(n) => {
                        invalid += 1;
                        buf = &buf[good + n..];
                    }
                }
            }
        }
    }
}

/// Copies a UTF-8 file with invalid bytes, each replaced by U+FFFD; returns the number of
/// invalid sequences and the first lines (1-based) holding one, for `summary.json`.
pub fn transcode_utf8_lossy(src: &Path, dst: &Path) -> Result<(u64, Vec<u64>)> {
    let (mut count, mut lines, mut line) = (0u64, Vec::new(), 1u64);
    let decoder = encoding_rs::UTF_8.new_decoder_with_bom_removal();
    transcode(src, dst, decoder, |text, replaced| {
        if !replaced {
            line += memchr::memchr_iter(b'\n', text.as_bytes()).count() as u64;
            return;
        }
        for c in text.chars() {
            match c {
                '\n' => line += 1,
                '\u{FFFD}' => {
                    count += 1;
                    if lines.last() != Some(&line) && lines.len() < 20 {
                        lines.push(line);
                    }
                }
                _ => {}
            }
        }
    })?;
    Ok((count, lines))
}

/// Transcodes a UTF-16 file (its byte-order mark decides the byte order and is dropped)
/// into a UTF-8 file, streaming in blocks. An unpaired surrogate becomes U+FFFD.
pub fn transcode_utf16(src: &Path, dst: &Path) -> Result<()> {
    let decoder = encoding_rs::UTF_16LE.new_decoder();
    transcode(src, dst, decoder, |_, _| {})
}

/// Transcodes a GB18030 file into a UTF-8 file, streaming in blocks.
pub fn transcode_gb18030(src: &Path, dst: &Path) -> Result<()> {
    let decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
    transcode(src, dst, decoder, |_, _| {})
}

/// Streams `src` through `decoder` into the UTF-8 file `dst`; `seen` gets each decoded piece
/// and whether the decoder replaced a malformed sequence in it.
fn transcode(
    src: &Path,
    dst: &Path,
    mut decoder: encoding_rs::Decoder,
    mut seen: impl FnMut(&str, bool),
) -> Result<()> {
    let mut input = File::open(src).map_err(|e| AuditError::io(src, e))?;
    let out = File::create(dst).map_err(|e| AuditError::io(dst, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let mut inbuf = vec![0u8; 1 << 20];
    let mut outbuf = String::with_capacity(3 << 20);
    loop {
        let n = input.read(&mut inbuf).map_err(|e| AuditError::io(src, e))?;
        let last = n == 0;
        let mut consumed = 0;
        loop {
            outbuf.clear();
            let (result, read, replaced) =
                decoder.decode_to_string(&inbuf[consumed..n], &mut outbuf, last);
            consumed += read;
            seen(&outbuf, replaced);
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

    /// Issue 13 item 4: one stray byte must not turn a UTF-8 file into GB18030.
    #[test]
    fn one_stray_byte_keeps_a_utf8_file_utf8() {
        let mut text = "结算ID,医院\n1,市第一人民医院\n".repeat(1000).into_bytes();
        text.insert(30, 0xE9); // Latin-1 'é'
        assert_eq!(judge_bytes(&text), Ok(Decision::Utf8WithInvalidBytes));
        let chinese = "结算ID,医院\n1,市第一人民医院\n".repeat(1000);
        let (gbk, _, _) = encoding_rs::GBK.encode(&chinese);
        assert_eq!(
            judge_bytes(&gbk),
            Ok(Decision::Clean(TextEncoding::Gb18030))
        );
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
        std::fs::write(&src, &text).unwrap();
        let (count, lines) = transcode_utf8_lossy(&src, &dst).unwrap();
        assert_eq!((count, lines), (1, vec![2]), "byte 30 is on line 2");
        let out = std::fs::read_to_string(&dst).unwrap();
        assert!(out.contains("市第一人民医院") && out.contains('\u{FFFD}'));
    }

    /// Issue 14: Excel's "Unicode text" (UTF-16 with BOM) is read, not refused.
    #[test]
    fn utf16_is_read_and_workbooks_are_named() {
        assert_eq!(
            judge_bytes(b"\xFF\xFEc\0a\0"),
            Ok(Decision::Clean(TextEncoding::Utf16Le))
        );
        assert_eq!(
            judge_bytes(b"\xFE\xFF\0c\0a"),
            Ok(Decision::Clean(TextEncoding::Utf16Be))
        );
        let dir = tempfile::tempdir().unwrap();
        let text = "结算ID\t医院\r\n1\t市第一人民医院\r\n".repeat(40_000);
        for (name, bytes) in [
            ("le", {
                let mut b = vec![0xFF, 0xFE];
                b.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
                b
            }),
            ("be", {
                let mut b = vec![0xFE, 0xFF];
                b.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
                b
            }),
        ] {
            let (src, dst) = (
                dir.path().join(name),
                dir.path().join(format!("{name}.csv")),
            );
            std::fs::write(&src, &bytes).unwrap();
            transcode_utf16(&src, &dst).unwrap();
            assert_eq!(std::fs::read_to_string(&dst).unwrap(), text, "{name}");
        }
        assert!(
            judge_bytes(b"PK\x03\x04rest")
                .unwrap_err()
                .contains("Excel")
        );
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
