//! `registry::parse` / `extract_host` (SPEC §4) on arbitrary input: never panics, and every
//! answer is consistent with the grammar.
//!
//! * A `Private` answer has a 12-ASCII-digit account and a one-label region, and
//!   `<account>.dkr.ecr[-fips].<region>.amazonaws.com` parses back to exactly the same answer,
//!   bare and in every client shape (`https://`, `:443`, `/path`, userinfo).
//! * A `Public` answer names one of the two public hosts, and so does the extracted host.
//! * An answer always agrees with `parse_host(extract_host(input))`.
#![no_main]


use docker_credential_ecr_login::registry;
use libfuzzer_sys::fuzz_target;
use registry::Registry;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let host = registry::extract_host(input);
    let parsed = registry::parse(input);
    assert_eq!(parsed, host.and_then(registry::parse_host), "{input:?}");
    if let Some(h) = host {
        assert!(!h.bytes().any(|c| c < 0x20 || c == 0x7f), "{input:?}");
    }
    match parsed {
        None => {}
        Some(Registry::Public { host: public }) => {
            assert!(
                registry::PUBLIC_HOSTS.contains(&public.as_str()),
                "{input:?}"
            );
            assert_eq!(host, Some(public.as_str()), "{input:?}");
        }
        Some(
            ref p @ Registry::Private {
                ref account,
                ref region,
                fips,
            },
        ) => {
            assert!(
                account.len() == 12 && account.bytes().all(|c| c.is_ascii_digit()),
                "{input:?}"
            );
            assert!(
                !region.is_empty()
                    && region.as_bytes()[0].is_ascii_alphanumeric()
                    && region
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
                "{input:?}"
            );
            let canonical = format!(
                "{account}.dkr.ecr{}.{region}.amazonaws.com",
                if fips { "-fips" } else { "" }
            );
            for shape in [
                canonical.clone(),
                format!("https://{canonical}"),
                format!("{canonical}:443"),
                format!("https://{canonical}:443/v2/repo/manifests/latest"),
                format!("{canonical}/team/image:tag"),
                format!("user:pw@{canonical}"),
            ] {
                assert_eq!(
                    registry::parse(&shape).as_ref(),
                    Some(p),
                    "{input:?} -> {shape:?}"
                );
            }
            assert_eq!(registry::parse(&format!("{canonical}.")), None, "{input:?}");
        }
    }
});
