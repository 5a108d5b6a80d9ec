//! Line splitting and parsing: arbitrary bytes fed in arbitrary chunks. The first byte picks
//! the chunk size and the line limit, so limits, tails and over-long lines all get exercised.
#![no_main]

use charcoal_protocol::plaintext::{LineSplitter, datagram_lines, parse_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&knob, data)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(knob % 17) + 1;
    let max = usize::from(knob / 17) * 8 + 1;
    let mut splitter = LineSplitter::new(max);
    let mut buf = Vec::new();
    let mut last_number = 0;
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        let mut lines = splitter.split(&buf);
        for item in lines.by_ref() {
            let number = match item {
                Ok(line) => {
                    assert!(line.bytes.len() <= max);
                    assert!(!line.bytes.contains(&b'\n'));
                    if let Ok(Some(p)) = line.parse() {
                        assert!(!p.value.is_nan());
                        assert!(p.timestamp.is_finite());
                        let path = p.name.relative_path();
                        assert!(!path.is_absolute());
                    }
                    line.number
                }
                Err(e) => e.line,
            };
            assert_eq!(number, last_number + 1, "line numbers are consecutive");
            last_number = number;
        }
        let used = lines.consumed();
        assert!(used <= buf.len());
        buf.drain(..used);
        assert!(buf.len() <= max + chunk);
    }
    let _ = parse_line(data, 1);
    if let Ok(lines) = datagram_lines(data) {
        for (i, line) in lines.iter().enumerate() {
            let _ = parse_line(line.as_bytes(), i as u64 + 1);
        }
    }
});
