//! Frame splitting over a stream cut at arbitrary points, with an arbitrary limit.
#![no_main]

use charcoal_protocol::framing::{Frame, HEADER_LEN, split_frame, write_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&knob, data)) = data.split_first() else {
        return;
    };
    let max = usize::from(knob) * 4;
    let mut buf = Vec::new();
    let mut frames = Vec::new();
    for piece in data.chunks(usize::from(knob % 7) + 1) {
        buf.extend_from_slice(piece);
        loop {
            match split_frame(&buf, max) {
                Frame::Incomplete => break,
                Frame::TooLarge(len) => {
                    assert!(len as usize > max);
                    return;
                }
                frame @ Frame::Frame(payload) => {
                    assert!(payload.len() <= max);
                    frames.push(payload.to_vec());
                    let used = frame.consumed();
                    buf.drain(..used);
                }
            }
        }
    }
    // Re-framing what was read gives back the bytes consumed.
    let mut again = Vec::new();
    for f in &frames {
        write_frame(f, &mut again).unwrap();
    }
    let consumed = data.len() - buf.len();
    assert_eq!(&again[..], &data[..consumed]);
    assert!(buf.len() < HEADER_LEN || buf.len() < HEADER_LEN + max + 1);
});
