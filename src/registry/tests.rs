//! Exact and property tests of the hostname rules.

mod exact {
    use super::super::*;

    fn private(account: &str, region: &str, fips: bool) -> Option<Registry> {
        Some(Registry::Private {
            account: account.into(),
            region: region.into(),
            fips,
        })
    }

    fn public(host: &str) -> Option<Registry> {
        Some(Registry::Public { host: host.into() })
    }

    #[test]
    fn shapes_clients_send() {
        let want = private("123456789012", "us-east-1", false);
        for input in [
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/repo/manifests/latest",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo/path/img:tag",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com?x=%zz",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com#frag",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:",
            "user:pw@123456789012.dkr.ecr.us-east-1.amazonaws.com/repo",
            "a@b@123456789012.dkr.ecr.us-east-1.amazonaws.com",
        ] {
            assert_eq!(parse(input), want, "{input}");
        }
    }

    #[test]
    fn spec_examples() {
        assert_eq!(
            parse("user:pw@123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo/img:tag"),
            private("123456789012", "eu-west-1", false)
        );
        assert_eq!(
            parse("123456789012.dkr-ecr-fips.us-west-2.amazonaws.com"),
            private("123456789012", "us-west-2", true)
        );
        assert_eq!(parse("public.ecr.aws:443"), public("public.ecr.aws"));
        assert_eq!(
            parse("https://ecr-public.aws.com"),
            public("ecr-public.aws.com")
        );
        assert_eq!(
            parse("http://123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            None
        );
        assert_eq!(parse("123456789012.DKR.ECR.us-east-1.amazonaws.com"), None);
    }

    #[test]
    fn every_partition_suffix() {
        for (host, region) in [
            ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "us-east-1"),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "cn-north-1",
            ),
            (
                "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
                "eusc-de-east-1",
            ),
            ("123456789012.dkr-ecr.us-east-1.on.aws", "us-east-1"),
            (
                "123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn",
                "cn-north-1",
            ),
            (
                "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
                "us-iso-east-1",
            ),
            (
                "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
                "us-isob-east-1",
            ),
            (
                "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
                "eu-isoe-west-1",
            ),
            (
                "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
                "us-isof-south-1",
            ),
            (
                "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
                "us-gov-west-1",
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
                "us-gov-west-1",
            ),
            ("123456789012.dkr.ecr.US-EAST-1.amazonaws.com", "US-EAST-1"),
            ("123456789012.dkr.ecr.us_east_1.amazonaws.com", "us_east_1"),
        ] {
            let fips = host.contains("-fips");
            assert_eq!(parse(host), private("123456789012", region, fips), "{host}");
        }
    }

    #[test]
    fn not_ecr() {
        for input in [
            "",
            "https://",
            "https://https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "HTTPS://123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "index.docker.io",
            "https://index.docker.io/v1/",
            "docker.io",
            "public.ecr.aws.",
            "Public.ecr.aws",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.",
            "12345678901.dkr.ecr.us-east-1.amazonaws.com",
            "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
            "12345678901a.dkr.ecr.us-east-1.amazonaws.com",
            "१२३४५६७८९०१२.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.org",
            "123456789012.dkr.ecr.us.east.1.amazonaws.com",
            "123456789012.dkr.ecr.-us-east-1.amazonaws.com",
            "123456789012.dkr.ecr..amazonaws.com",
            "123456789012.dkr.ecr-FIPS.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:44a",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:-1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/%zz",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/a%4",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com#%g0",
            "us er@123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "u%zz@123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com\n",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com\u{7f}",
            "vpce-1234.dkr.ecr.us-east-1.vpce.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.vpce.amazonaws.com",
            "[::1]:443",
            "[::1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com%2e",
        ] {
            assert_eq!(parse(input), None, "{input:?}");
        }
    }

    #[test]
    fn host_extraction() {
        assert_eq!(extract_host("[::1]:443"), Some("::1"));
        assert_eq!(extract_host("host:"), Some("host"));
        assert_eq!(extract_host("a/b?c#d"), Some("a"));
        assert_eq!(extract_host("u@h/p%41"), Some("h"));
        assert_eq!(extract_host("h/%4"), None);
        assert_eq!(extract_host("h/%"), None);
    }
}

/// Property tests: every host the SPEC §4 grammar builds, in every client shape, parses to exactly
/// its parts; mutations that leave the grammar never parse; nothing panics.
mod proptests {
    use super::super::*;
    use proptest::prelude::*;

    /// (host, account, region, fips) built from the grammar.
    fn private_host() -> impl Strategy<Value = (String, String, String, bool)> {
        (
            "[0-9]{12}",
            prop_oneof![Just("."), Just("-")],
            any::<bool>(),
            "[A-Za-z0-9][A-Za-z0-9_-]{0,24}",
            proptest::sample::select(SUFFIXES.to_vec()),
        )
            .prop_map(|(account, sep, fips, region, suffix)| {
                let f = if fips { "-fips" } else { "" };
                let host = format!("{account}.dkr{sep}ecr{f}.{region}.{suffix}");
                (host, account, region, fips)
            })
    }

    /// A client shape around a host: optional `https://`, userinfo, port, path, query, fragment.
    fn shape() -> impl Strategy<Value = (bool, Option<String>, Option<String>, Option<String>)> {
        (
            any::<bool>(),
            proptest::option::of(
                "([A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2}){0,12}".prop_map(|u| u + "@"),
            ),
            proptest::option::of(":[0-9]{0,5}"),
            proptest::option::of(concat!(
                "(/([A-Za-z0-9._:@~-]|%[0-9A-Fa-f]{2}){0,10}){1,3}",
                "(\\?[^#\\x00-\\x1f\\x7f]{0,10})?",
                "(#[A-Za-z0-9/?]{0,6})?",
            )),
        )
    }

    fn wrap(
        host: &str,
        (https, userinfo, port, path): &(bool, Option<String>, Option<String>, Option<String>),
    ) -> String {
        format!(
            "{}{}{host}{}{}",
            if *https { "https://" } else { "" },
            userinfo.as_deref().unwrap_or(""),
            port.as_deref().unwrap_or(""),
            path.as_deref().unwrap_or("")
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn grammar_hosts_parse_to_their_parts(
            (host, account, region, fips) in private_host(),
            s in shape(),
        ) {
            let input = wrap(&host, &s);
            prop_assert_eq!(extract_host(&input), Some(host.as_str()), "{:?}", input);
            prop_assert_eq!(
                parse(&input),
                Some(Registry::Private { account, region, fips }),
                "{:?}", input
            );
        }

        #[test]
        fn public_hosts_parse_in_every_shape(
            host in proptest::sample::select(PUBLIC_HOSTS.to_vec()),
            s in shape(),
        ) {
            let input = wrap(host, &s);
            let want = Registry::Public { host: host.to_owned() };
            prop_assert_eq!(parse(&input), Some(want), "{:?}", input);
        }

        #[test]
        fn mutated_hosts_never_parse(
            (host, account, _region, _fips) in private_host(),
            s in shape(),
            mutation in 0..10u8,
            extra_digit in "[0-9]",
            case in "[dD][kK][rR]",
            ctl in "[\\x00-\\x1f\\x7f]",
            at in any::<proptest::sample::Index>(),
        ) {
            let mutated = match mutation {
                // a 13-digit account, an 11-digit one
                0 => format!("{extra_digit}{host}"),
                1 => host[1..].to_owned(),
                // a trailing dot (kept, and it fails)
                2 => format!("{host}."),
                // any upper-case letter in `dkr` (the literals are case-sensitive)
                3 if case != "dkr" => host.replacen("dkr", &case, 1),
                3 => host.replacen("dkr", "DKR", 1),
                4 => host.replacen("ecr", "ECR", 1),
                // a second dot-free label is needed for the region: a dot in it breaks the suffix
                5 => host.replacen(&format!("{account}."), &format!("{account}.x."), 1),
                // an unknown suffix
                6 => format!("{host}.evil.example"),
                7 => host.replacen("-fips", "-FIPS", 1).replacen(".dkr", ".dkr-vpce", 1),
                // a control byte anywhere in the whole input
                8 => {
                    let input = wrap(&host, &s);
                    let i = at.index(input.len() + 1);
                    let i = (0..=i).rev().find(|&i| input.is_char_boundary(i)).unwrap_or(0);
                    let bad = format!("{}{ctl}{}", &input[..i], &input[i..]);
                    prop_assert_eq!(parse(&bad), None, "{:?}", bad);
                    return Ok(());
                }
                // a scheme Go's parser keeps as part of the host
                _ => {
                    for scheme in ["http://", "HTTPS://", "https://https://"] {
                        let bad = format!("{scheme}{host}");
                        prop_assert_eq!(parse(&bad), None, "{:?}", bad);
                    }
                    return Ok(());
                }
            };
            let input = wrap(&mutated, &s);
            prop_assert_eq!(parse(&input), None, "{:?}", input);
        }

        #[test]
        fn arbitrary_input_never_panics_and_agrees_with_extract_host(
            input in "\\PC{0,80}|[\\x00-\\x7f]{0,80}",
        ) {
            let host = extract_host(&input);
            prop_assert_eq!(parse(&input), host.and_then(parse_host));
        }
    }
}
