//! Random input to each importer never panics; when it converts, the
//! profile printed from it parses again and passes `sbx check`.

mod convert_support;

use proptest::prelude::*;
use sbx_compiler::import::{self, Format, Input};

/// Converts `text`; when that succeeds, the printed profile parses and
/// passes `sbx check`.
fn convert_never_panics(format: Format, text: &[u8]) {
    let conversion = import::convert(&[Input::new("random", text.to_vec(), format)]);
    if let Some(profile) = &conversion.profile {
        let printed = sbx_grammar::printer::print(profile);
        if let Err(e) = convert_support::reformat("random.sbx", &printed) {
            panic!("the printed profile does not parse: {e}\n{printed}");
        }
        let errors = convert_support::check_errors("random.sbx", &printed);
        assert!(
            errors.is_empty(),
            "the converted profile fails check:\n{errors}\n{printed}\n--- from\n{}",
            String::from_utf8_lossy(text)
        );
    }
}

fn lxc_line() -> impl Strategy<Value = String> {
    let keys = prop::sample::select(vec![
        "lxc.uts.name",
        "lxc.utsname",
        "lxc.rootfs",
        "lxc.rootfs.path",
        "lxc.net.0.type",
        "lxc.net.1.link",
        "lxc.network.type",
        "lxc.network.ipv4",
        "lxc.net.0.ipv4.address",
        "lxc.net.0.name",
        "lxc.net.0.hwaddr",
        "lxc.net.0.mtu",
        "lxc.net.0.vlan.id",
        "lxc.net.0.macvlan.mode",
        "lxc.cgroup.cpu.shares",
        "lxc.cgroup.memory.limit_in_bytes",
        "lxc.cgroup.memory.memsw.limit_in_bytes",
        "lxc.cgroup.cpu.cfs_quota_us",
        "lxc.cgroup2.cpu.max",
        "lxc.cgroup2.memory.max",
        "lxc.cap.drop",
        "lxc.cap.keep",
        "lxc.idmap",
        "lxc.mount.entry",
        "lxc.mount.auto",
        "lxc.environment",
        "lxc.init.cmd",
        "lxc.init.uid",
        "lxc.prlimit.nofile",
        "lxc.tty.max",
        "lxc.include",
        "lxc.signal.stop",
        "lxc.net",
        "lxc.bogus",
    ]);
    let values = prop::sample::select(vec![
        "",
        "veth",
        "none",
        "empty",
        "phys",
        "macvlan",
        "vlan",
        "up",
        "1",
        "-1",
        "1500",
        "512M",
        "max",
        "100000 100000",
        "u 0 100000 65536",
        "b 0 1 2",
        "sys_admin CAP_KILL",
        "3-1",
        "u 0 0 0",
        "u 5 5 4294967295",
        "00:00:00:00:00:00",
        "01:00:5e:00:00:01",
        "10.0.0.1/33",
        "a/b",
        "0123456789abcdefg",
        "65536",
        "4095",
        "/a b none bind,ro,create=dir 0 0",
        "proc:mixed sys:ro",
        "A=1",
        "/x",
        "1024:4096",
        "unlimited",
        "10.0.0.1",
        "fe80::1/64",
        "\"quoted\"",
        "@VAR@",
        "a_b",
        "..",
        "\u{e9}",
        "''",
        "\"a b\" 'c",
    ]);
    (keys, values, "[ =\\t]{0,3}").prop_map(|(k, v, sep)| format!("{k}{sep}= {v}"))
}

fn unit_line() -> impl Strategy<Value = String> {
    let lines = prop::sample::select(vec![
        "[Service]",
        "[Unit]",
        "[Slice]",
        "[Install]",
        "[X",
        "ExecStart=",
        "User=",
        "Group=",
        "Environment=",
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
        "LimitNOFILE=",
        "MemoryMax=",
        "CPUShares=",
        "CPUQuota=",
        "BlockIOWeight=",
        "ReadOnlyPaths=",
        "BindPaths=",
        "ProtectSystem=",
        "ProtectHome=",
        "PrivateTmp=",
        "WorkingDirectory=",
        "TasksMax=",
        "KillSignal=",
        "UMask=",
        "Type=oneshot",
        "# c",
        "Bogus=",
    ]);
    let values = prop::sample::select(vec![
        "",
        "yes",
        "strict",
        "~CAP_SYS_ADMIN",
        "CAP_KILL",
        "-/bin/x %i %n %% %Z",
        "@/a b c",
        "\"a b\" 'c' \\x41 \\",
        "$A ${B} $$",
        "1G",
        "5%",
        "infinity",
        "1:2",
        "/a:/b:ro",
        "-/x +/y",
        "A=1 \"B=2 3\"",
        "SIGTERM",
        "0022",
        "150%",
        "\\",
        "\"\" x",
        "0-3 x",
        "9:1",
        "/a/../b",
        "%i",
        "0.01%",
        "4-2",
    ]);
    (lines, values).prop_map(|(l, v)| {
        if l.ends_with('=') {
            format!("{l}{v}")
        } else {
            l.to_string()
        }
    })
}

fn dockerfile_line() -> impl Strategy<Value = String> {
    let instr = prop::sample::select(vec![
        "FROM",
        "from",
        "RUN",
        "CMD",
        "ENTRYPOINT",
        "ENV",
        "ARG",
        "COPY",
        "ADD",
        "WORKDIR",
        "USER",
        "VOLUME",
        "EXPOSE",
        "LABEL",
        "SHELL",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "ONBUILD",
        "MAINTAINER",
        "# escape=`",
        "#",
        "BOGUS",
    ]);
    let args = prop::sample::select(vec![
        "",
        "debian AS base",
        "base",
        "$X",
        "${X:-y}",
        "${X",
        "[\"a\", \"b\"]",
        "['a']",
        "<<EOF",
        "<<-'E' x",
        "EOF",
        "a=b c=\"d e\"",
        "k v w",
        "--from=base a b",
        "--chown=1:1 a /b/",
        "80 53/udp 1-2 x/sctp",
        "SIGQUIT",
        "9",
        "rel/dir",
        "C:\\x",
        "\\",
        "`",
        "\"unclosed",
        "--mount=type=cache,target=/x echo",
        "[\"/bin/bash\", \"-c\"]",
        "[\"\"]",
        "[]",
        "=x",
        "1a=b",
        "/a/../..",
        "\"\"",
    ]);
    (instr, args).prop_map(|(i, a)| format!("{i} {a}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        for format in [Format::Lxc, Format::Systemd, Format::Dockerfile] {
            convert_never_panics(format, &bytes);
        }
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,300}") {
        for format in [Format::Lxc, Format::Systemd, Format::Dockerfile] {
            convert_never_panics(format, text.as_bytes());
        }
    }

    #[test]
    fn lxc_like_input_never_panics(lines in prop::collection::vec(lxc_line(), 0..30)) {
        convert_never_panics(Format::Lxc, lines.join("\n").as_bytes());
    }

    #[test]
    fn unit_like_input_never_panics(lines in prop::collection::vec(unit_line(), 0..30)) {
        let text = format!("[Service]\n{}", lines.join("\n"));
        convert_never_panics(Format::Systemd, text.as_bytes());
    }

    #[test]
    fn any_unit_file_name_never_panics(
        name in "[a-z0-9@.\\\\x%é€-]{0,24}(\\.service|\\.slice)?",
    ) {
        let text = "[Service]\nExecStart=/bin/echo %n %N %p %P %i %I %j %J %f\nUser=%i\n";
        let conversion = import::convert(&[
            Input::new(name.clone(), text.as_bytes().to_vec(), Format::Systemd).with_path(&name),
        ]);
        if let Some(profile) = &conversion.profile {
            let printed = sbx_grammar::printer::print(profile);
            let errors = convert_support::check_errors("random.sbx", &printed);
            prop_assert!(errors.is_empty(), "{}\n{}", errors, printed);
        }
    }

    #[test]
    fn dockerfile_like_input_never_panics(
        lines in prop::collection::vec(dockerfile_line(), 0..30),
        continuation in any::<bool>(),
    ) {
        let sep = if continuation { " \\\n" } else { "\n" };
        convert_never_panics(Format::Dockerfile, lines.join(sep).as_bytes());
    }
}
