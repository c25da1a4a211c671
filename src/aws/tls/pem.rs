//! Certificates of a PEM bundle, known by their subject name before anything else is decoded.
//!
//! A [`Candidate`] is one `CERTIFICATE` block: its base64 text stays in the file's bytes; only
//! its first lines are decoded, as far as the subject name (a few hundred bytes of a 1.5 KB
//! certificate), by a short DER walk. The verifier compares subjects with the issuers of a
//! server's chain and decodes in full, then parses, only the certificates that match. A block
//! whose head is not the start of an X.509 certificate is no candidate.

use base64::Engine as _;
use rustls_pki_types::CertificateDer;
use std::ops::Range;
use std::sync::Arc;

const PEM_BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const PEM_END: &[u8] = b"-----END CERTIFICATE-----";

/// Where a candidate's bytes are.
#[derive(Debug, Clone)]
enum Body {
    /// The base64 text of a PEM block (`range` of `text`).
    Pem {
        text: Arc<[u8]>,
        range: Range<usize>,
    },
    /// A certificate already in DER (the compiled-in roots).
    Der(CertificateDer<'static>),
}

/// One possible trust anchor: its subject name (DER contents of the `Name`, without the
/// outer tag and length, as webpki gives `issuer()`), and where to decode the rest from.
#[derive(Debug, Clone)]
pub struct Candidate {
    subject: Vec<u8>,
    body: Body,
}

impl Candidate {
    pub fn subject(&self) -> &[u8] {
        &self.subject
    }

    /// The whole certificate, decoded now; `None` when its text is not valid base64.
    pub fn der(&self) -> Option<CertificateDer<'static>> {
        match &self.body {
            Body::Der(der) => Some(der.clone()),
            Body::Pem { text, range } => decode_block(&text[range.clone()]).map(Into::into),
        }
    }

    /// A candidate from DER; `None` when it has no readable subject.
    pub fn from_der(der: CertificateDer<'static>) -> Option<Candidate> {
        let subject = match subject_of(der.as_ref()) {
            Walk::Found(range) => der.as_ref()[range].to_vec(),
            Walk::More | Walk::Bad => return None,
        };
        Some(Candidate {
            subject,
            body: Body::Der(der),
        })
    }

    /// Identity for deduplication: the block's text or the DER bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.body {
            Body::Pem { text, range } => &text[range.clone()],
            Body::Der(der) => der.as_ref(),
        }
    }
}

/// Every certificate block of a PEM file whose head reads as a certificate. A block without
/// its END line gives way to the next BEGIN, as Go's `pem.Decode` does.
pub fn candidates(text: Arc<[u8]>) -> Vec<Candidate> {
    let begin = memchr::memmem::Finder::new(PEM_BEGIN);
    let end = memchr::memmem::Finder::new(PEM_END);
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(b) = begin.find(&text[at..]) {
        let start = at + b + PEM_BEGIN.len();
        let Some(e) = end.find(&text[start..]) else {
            break;
        };
        let stop = start + e;
        if let Some(again) = begin.find(&text[start..stop]) {
            at = start + again;
            continue;
        }
        at = stop + PEM_END.len();
        if let Some(subject) = head_subject(&text[start..stop]) {
            out.push(Candidate {
                subject,
                body: Body::Pem {
                    text: text.clone(),
                    range: start..stop,
                },
            });
        }
    }
    out
}

/// The subject of the certificate whose base64 text is `block`, decoding line by line only as
/// far as the subject ends; with lines that are not whole base64 groups, the whole block.
fn head_subject(block: &[u8]) -> Option<Vec<u8>> {
    let mut head = Vec::with_capacity(512);
    let engine = &base64::engine::general_purpose::STANDARD;
    for line in block.split(|&c| c == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if line.len() % 4 != 0 || line.contains(&b' ') {
            let der = decode_block(block)?;
            return subject_of(&der).found().map(|r| der[r].to_vec());
        }
        engine.decode_vec(line, &mut head).ok()?;
        match subject_of(&head) {
            Walk::Found(range) => return Some(head[range].to_vec()),
            Walk::Bad => return None,
            Walk::More => {}
        }
    }
    None
}

/// The base64 text of a block, decoded without its whitespace (only for the one or two
/// certificates a chain names, so no faster copy is needed).
fn decode_block(block: &[u8]) -> Option<Vec<u8>> {
    let text: Vec<u8> = block
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(&text)
        .ok()
        .filter(|der| matches!(subject_of(der), Walk::Found(_)))
}

/// How far a DER walk got.
#[derive(Debug, PartialEq, Eq)]
enum Walk {
    /// The subject's contents are this range of the input.
    Found(Range<usize>),
    /// The input ends before the subject does.
    More,
    /// Not a certificate.
    Bad,
}

impl Walk {
    fn found(self) -> Option<Range<usize>> {
        match self {
            Walk::Found(r) => Some(r),
            _ => None,
        }
    }
}

/// One DER header at `at`: tag, and the contents' start and length. `None` (need more) when
/// the header itself is cut off; `Err` when it is malformed.
fn header(der: &[u8], at: usize) -> Result<Option<(u8, usize, usize)>, ()> {
    let (Some(&tag), Some(&first)) = (der.get(at), der.get(at + 1)) else {
        return Ok(None);
    };
    let (len, start) = match first {
        0..=0x7f => (usize::from(first), at + 2),
        0x81..=0x83 => {
            let n = usize::from(first & 0x7f);
            let Some(bytes) = der.get(at + 2..at + 2 + n) else {
                return Ok(None);
            };
            let len = bytes.iter().fold(0, |acc, b| (acc << 8) | usize::from(*b));
            (len, at + 2 + n)
        }
        _ => return Err(()),
    };
    Ok(Some((tag, start, len)))
}

/// The subject of a certificate (RFC 5280: Certificate { TBSCertificate { [0] version,
/// serial, signature, issuer, validity, subject, ... } ... }) from its first bytes.
fn subject_of(der: &[u8]) -> Walk {
    const SEQUENCE: u8 = 0x30;
    let step = |at: usize, want: Option<u8>| match header(der, at) {
        Err(()) => Err(Walk::Bad),
        Ok(None) => Err(Walk::More),
        Ok(Some((tag, start, len))) if want.is_none_or(|w| w == tag) => Ok((tag, start, len)),
        Ok(Some(_)) => Err(Walk::Bad),
    };
    let walk = || -> Result<Range<usize>, Walk> {
        let (_, cert, _) = step(0, Some(SEQUENCE))?;
        let (_, tbs, _) = step(cert, Some(SEQUENCE))?;
        let mut at = tbs;
        let (tag, start, len) = step(at, None)?;
        if tag == 0xa0 {
            at = start + len; // explicit version
        }
        for want in [0x02, SEQUENCE, SEQUENCE, SEQUENCE] {
            // serial, signature algorithm, issuer, validity
            let (_, start, len) = step(at, Some(want))?;
            at = start + len;
        }
        let (_, start, len) = step(at, Some(SEQUENCE))?;
        if start + len > der.len() {
            return Err(Walk::More);
        }
        Ok(start..start + len)
    };
    match walk() {
        Ok(range) => Walk::Found(range),
        Err(w) => w,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;

    const TEST_CA: &str = include_str!("../../../tests/data/test-ca.pem");

    #[test]
    fn subject_matches_webpki_for_every_system_root() {
        let Some(bytes) = super::super::BUNDLE_FILES
            .iter()
            .find_map(|p| std::fs::read(p).ok())
        else {
            return;
        };
        let ours = candidates(Arc::from(bytes.clone()));
        let theirs: Vec<_> = CertificateDer::pem_slice_iter(&bytes).flatten().collect();
        assert_eq!(ours.len(), theirs.len());
        for (c, der) in ours.iter().zip(&theirs) {
            assert_eq!(c.der().as_ref(), Some(der));
            if let Ok(anchor) = webpki::anchor_from_trusted_cert(der) {
                assert_eq!(c.subject(), anchor.subject.as_ref());
            }
        }
    }

    #[test]
    fn test_ca_and_garbage() {
        let junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let not_b64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let text = format!("{junk}{not_b64}{TEST_CA}");
        let found = candidates(Arc::from(text.into_bytes()));
        assert_eq!(found.len(), 1);
        let der = CertificateDer::from_pem_slice(TEST_CA.as_bytes()).unwrap();
        assert_eq!(found[0].der(), Some(der.clone()));
        let from_der = Candidate::from_der(der).unwrap();
        assert_eq!(from_der.subject(), found[0].subject());
    }

    #[test]
    fn odd_line_lengths_still_work() {
        let der = CertificateDer::from_pem_slice(TEST_CA.as_bytes()).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(63)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let text = format!(
            "{}\n{}\n{}\n",
            "-----BEGIN CERTIFICATE-----",
            lines.join("\r\n"),
            "-----END CERTIFICATE-----"
        );
        let found = candidates(Arc::from(text.into_bytes()));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].der(), Some(der));
    }

    #[test]
    fn der_walk_edges() {
        assert_eq!(subject_of(&[]), Walk::More);
        assert_eq!(subject_of(&[0x30]), Walk::More);
        assert_eq!(subject_of(&[0x31, 0x00]), Walk::Bad);
        assert_eq!(subject_of(&[0x30, 0x80]), Walk::Bad);
        assert_eq!(subject_of(&[0x30, 0x82, 0x01]), Walk::More);
        let der = CertificateDer::from_pem_slice(TEST_CA.as_bytes()).unwrap();
        for cut in 0..der.len() {
            let w = subject_of(&der[..cut]);
            assert!(matches!(w, Walk::More | Walk::Found(_)), "{cut}: {w:?}");
        }
    }
}
