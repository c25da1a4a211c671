//! Exact-byte and property tests of argv, the static texts and stdin joining.

mod exact {
    use super::super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn argv_table() {
        assert_eq!(parse_args(&args(&[])), Action::Usage);
        for v in [
            "-v", "--v", "-v=1", "--v=t", "-v=T", "-v=TRUE", "-v=true", "-v=True",
        ] {
            assert_eq!(parse_args(&args(&[v])), Action::Banner, "{v}");
        }
        assert_eq!(parse_args(&args(&["-v", "get", "x"])), Action::Banner);
        for h in ["-h", "-help", "--h", "--help"] {
            assert_eq!(parse_args(&args(&[h])), Action::Help);
        }
        assert_eq!(parse_args(&args(&["--version"])), Action::Version);
        assert_eq!(parse_args(&args(&["-version"])), Action::Version);
        assert_eq!(parse_args(&args(&["version"])), Action::Version);
        assert_eq!(parse_args(&args(&["get"])), Action::Get);
        assert_eq!(parse_args(&args(&["list"])), Action::List);
        for x in ["-v=false", "--", "foo", "-x", "GET", "-v=yes"] {
            assert_eq!(parse_args(&args(&[x])), Action::Unknown(x.into()), "{x}");
        }
        assert_eq!(parse_args(&args(&["get", "-v"])), Action::Usage);
        assert_eq!(parse_args(&args(&["--", "get"])), Action::Usage);
        for v in ["--version", "-version", "version"] {
            assert_eq!(parse_args(&args(&[v, "x"])), Action::Usage, "{v} x");
        }
    }

    #[test]
    fn static_texts() {
        let out = |a| String::from_utf8(static_answer(&a).unwrap().stdout).unwrap();
        assert_eq!(
            out(Action::Usage),
            "Usage: docker-credential-ecr-login <store|get|erase|list|version>\n"
        );
        assert_eq!(
            out(Action::Version),
            format!("docker-credential-ecr-login (github.com/awslabs/amazon-ecr-credential-helper/ecr-login) {VERSION}\n")
        );
        assert_eq!(
            out(Action::Banner),
            format!(
                "amazon-ecr-credential-helper\nVersion:    {VERSION}\nGit commit: {GIT_COMMIT}\n"
            )
        );
        assert_eq!(
            out(Action::Unknown("foo".into())),
            "docker-credential-ecr-login: unknown action: foo\n"
        );
        let help = static_answer(&Action::Help).unwrap();
        assert!(help.stdout.is_empty() && !help.stderr.is_empty() && help.code == 0);
    }

    #[test]
    fn stdin_joining() {
        let r = |s: &[u8]| read_request(s).unwrap().unwrap();
        assert_eq!(r(b"ho\nst"), b"host");
        assert_eq!(r(b"host\r\n"), b"host");
        assert_eq!(r(b"a\r\r\nb"), b"a\rb");
        assert_eq!(r(b""), b"");
        let big = vec![b'a'; STDIN_CAP + 1];
        assert!(read_request(&big[..]).unwrap().is_none());
        let ok = vec![b'a'; STDIN_CAP];
        assert!(read_request(&ok[..]).unwrap().is_some());
    }
}

/// Property tests: stdin lines are joined without a separator (SPEC §3).
mod proptests {
    use super::super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn stdin_lines_join_without_separator(
            lines in proptest::collection::vec(("[^\n]{0,12}", any::<bool>()), 1..6),
        ) {
            let input = lines
                .iter()
                .map(|(l, cr)| format!("{l}{}", if *cr { "\r" } else { "" }))
                .collect::<Vec<_>>()
                .join("\n");
            let want: String = lines
                .iter()
                .map(|(l, cr)| if *cr { l.as_str() } else { l.strip_suffix('\r').unwrap_or(l) })
                .collect();
            let got = read_request(input.as_bytes()).unwrap().unwrap();
            prop_assert_eq!(String::from_utf8(got).unwrap(), want);
        }
    }
}
