//! Arbitrary bytes as a `multipart/form-data` body, and as a form model
//! request (audio, images).
//!
//! Checks: the reader never panics; every part it returns lies inside the
//! body, in order, and no text field is named twice; a body it accepts,
//! built again from its parts, reads back to the same parts; the form
//! inspection never panics, and when it accepts a body, rewriting the
//! model leaves a body that reads back with that model and every other
//! part's value unchanged.
#![no_main]

use cordon_gateway::inspect;
use cordon_gateway::multipart;
use cordon_policy::Endpoint;
use libfuzzer_sys::fuzz_target;

const CT: &str = "multipart/form-data; boundary=fz";

fuzz_target!(|data: &[u8]| {
    // The first line, when short, is taken as the Content-Type instead.
    let (ct, body) = match data.iter().position(|b| *b == b'\n') {
        Some(n) if n < 100 => (
            std::str::from_utf8(&data[..n]).unwrap_or(CT),
            &data[n + 1..],
        ),
        _ => (CT, data),
    };
    let Ok(form) = multipart::parse(ct, body) else {
        let _ = inspect::inspect_form(Endpoint::Audio, ct, body);
        return;
    };
    let mut end = 0;
    for p in &form.parts {
        assert!(p.value.start >= end && p.value.end <= body.len());
        end = p.value.end;
    }
    let parts: Vec<multipart::PartSpec<'_>> = form
        .parts
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.filename.as_deref(),
                p.content_type.as_deref(),
                &body[p.value.clone()],
            )
        })
        .collect();
    let again = multipart::encode(&form.boundary, &parts);
    let ct2 = format!("multipart/form-data; boundary=\"{}\"", form.boundary);
    let reread = multipart::parse(&ct2, &again).expect("a form built from parts reads back");
    assert_eq!(reread.parts.len(), form.parts.len());
    for (a, b) in reread.parts.iter().zip(&form.parts) {
        assert_eq!((&a.name, &a.filename), (&b.name, &b.filename));
        assert_eq!(&again[a.value.clone()], &body[b.value.clone()]);
    }
    if inspect::inspect_form(Endpoint::Images, ct, body).is_ok() {
        let rewritten = inspect::with_model(ct, body, "fable-5").expect("a read form has a model");
        let i = inspect::inspect_form(Endpoint::Images, ct, &rewritten).expect("still a form");
        assert_eq!(i.model, "fable-5");
        let after = multipart::parse(ct, &rewritten).expect("still a form");
        for (a, b) in after.parts.iter().zip(&form.parts) {
            if a.name != "model" {
                assert_eq!(&rewritten[a.value.clone()], &body[b.value.clone()]);
            }
        }
    }
});
