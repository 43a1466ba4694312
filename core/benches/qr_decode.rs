//! QR robustness benchmark, Rust side: decodes every frame of a `gen.py` data set with
//! Countersign's decoder (camera preset) and with plain rqrr, and writes one CSV row per frame
//! and decoder (`file,category,has_qr,decoder,ok,found,ms,first_hit`). Timings are decode only
//! (the PNG is loaded and converted to luma before the clock starts), the best of `QR_BENCH_REPS`
//! runs (default 3) per frame, decoders interleaved frame by frame so machine load hits them
//! alike. `tests/qr-bench/merge.py` joins this with the zxing-cpp side and prints the table.
//!
//! Run: `QR_BENCH_DATA=<dataset dir> QR_BENCH_OUT=<csv> cargo bench -p countersign-core --bench qr_decode`
//! (or pass the two paths as arguments). Asserts nothing about wall time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code: fail loudly
#![allow(missing_docs)]

use countersign_core::qr::{DecodeOptions, LumaFrame, decode_luma_with_stats, profile_cascade};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Minimal CSV line parser (quoted fields with doubled quotes, as Python's csv module writes).
fn parse_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn rqrr_decode(w: usize, h: usize, px: &[u8]) -> Vec<String> {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| px[y * w + x]);
    img.detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, s)| s))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let data = args
        .first()
        .cloned()
        .or_else(|| std::env::var("QR_BENCH_DATA").ok())
        .map(PathBuf::from)
        .expect("dataset dir: first argument or QR_BENCH_DATA");
    let out_path = args
        .get(1)
        .cloned()
        .or_else(|| std::env::var("QR_BENCH_OUT").ok())
        .unwrap_or_else(|| "qr_rust.csv".into());
    let reps: usize = std::env::var("QR_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let only: Option<String> = std::env::var("QR_BENCH_ONLY").ok();
    let skip_rqrr = std::env::var("QR_BENCH_NO_RQRR").is_ok();
    // QR_BENCH_PROFILE=<csv>: also run every cascade step alone on every frame (best of `reps`
    // per step) and write what each saw and cost, for tests/qr-bench/cascade.py.
    let mut profile = std::env::var("QR_BENCH_PROFILE").ok().map(|p| {
        let mut f = std::io::BufWriter::new(std::fs::File::create(p).expect("profile csv"));
        writeln!(f, "file,category,has_qr,step,matrix,inverted,gated,binarize_ms,detect_ms,finders,triples,ok,found").unwrap();
        f
    });

    let truth = std::fs::read_to_string(data.join("truth.csv")).expect("truth.csv");
    let mut lines = truth.lines();
    let header = parse_csv_line(lines.next().expect("header"));
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (c_file, c_cat, c_has, c_payload) =
        (col("file"), col("category"), col("has_qr"), col("payload"));

    let opts = DecodeOptions::camera();
    let mut out = std::io::BufWriter::new(std::fs::File::create(&out_path).expect("output csv"));
    writeln!(out, "file,category,has_qr,decoder,ok,found,ms,first_hit").unwrap();
    let mut n = 0usize;
    for line in lines {
        let row = parse_csv_line(line);
        let (file, cat, has_qr, payload) = (
            &row[c_file],
            &row[c_cat],
            row[c_has] == "1",
            &row[c_payload],
        );
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|c| c == cat))
        {
            continue;
        }
        let img = image::open(data.join(file)).expect("image").into_luma8();
        let (w, h) = img.dimensions();
        let px = img.into_raw();
        let frame = LumaFrame::packed(w, h, &px).expect("frame");

        let mut best_cs = f64::MAX;
        let mut best_rq = f64::MAX;
        let mut cs_res = (Vec::new(), Default::default());
        let mut rq_res = Vec::new();
        for _ in 0..reps.max(1) {
            let t = Instant::now();
            cs_res = decode_luma_with_stats(&frame, &opts).expect("decode");
            best_cs = best_cs.min(t.elapsed().as_secs_f64() * 1e3);
            if !skip_rqrr {
                let t = Instant::now();
                rq_res = rqrr_decode(w as usize, h as usize, &px);
                best_rq = best_rq.min(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        if let Some(pf) = profile.as_mut() {
            let mut best = profile_cascade(&frame);
            for _ in 1..reps.max(1) {
                for (b, s) in best.iter_mut().zip(profile_cascade(&frame)) {
                    b.binarize_ms = b.binarize_ms.min(s.binarize_ms);
                    b.detect_ms = b.detect_ms.min(s.detect_ms);
                }
            }
            for s in best {
                let ok = if has_qr {
                    s.texts.iter().any(|t| t == payload)
                } else {
                    s.texts.is_empty()
                };
                writeln!(
                    pf,
                    "{file},{cat},{},{},\"{}\",{},{},{:.3},{:.3},{},{},{},{}",
                    u8::from(has_qr),
                    s.step,
                    s.matrix,
                    u8::from(s.inverted),
                    u8::from(s.gated),
                    s.binarize_ms,
                    s.detect_ms,
                    s.finders,
                    s.triples,
                    u8::from(ok),
                    s.texts.len()
                )
                .unwrap();
            }
        }
        let (found, stats) = &cs_res;
        let cs_ok = if has_qr {
            found.iter().any(|q| &q.text == payload)
        } else {
            found.is_empty()
        };
        let hit = stats.first_hit.map(|i| i.to_string()).unwrap_or_default();
        writeln!(
            out,
            "{file},{cat},{},countersign,{},{},{best_cs:.3},{hit}",
            u8::from(has_qr),
            u8::from(cs_ok),
            found.len()
        )
        .unwrap();
        if !skip_rqrr {
            let rq_ok = if has_qr {
                rq_res.iter().any(|s| s == payload)
            } else {
                rq_res.is_empty()
            };
            writeln!(
                out,
                "{file},{cat},{},rqrr,{},{},{best_rq:.3},",
                u8::from(has_qr),
                u8::from(rq_ok),
                rq_res.len()
            )
            .unwrap();
        }
        n += 1;
        if n.is_multiple_of(50) {
            eprintln!("qr_decode bench: {n} frames");
        }
    }
    out.flush().unwrap();
    if let Some(mut pf) = profile {
        pf.flush().unwrap();
    }
    eprintln!("qr_decode bench: {n} frames -> {out_path}");
}
