//! include/epode.h must be exactly what cbindgen generates from src/ffi now:
//! a stale committed header would let C programs call functions that moved.

#[test]
fn committed_header_is_what_cbindgen_generates() {
    let root = env!("CARGO_MANIFEST_DIR");
    let config =
        cbindgen::Config::from_file(format!("{root}/cbindgen.toml")).expect("cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    // EPODE_WRITE_HEADER=1 cargo test --test header: regenerates it
    // without the cbindgen command-line tool.
    if std::env::var_os("EPODE_WRITE_HEADER").is_some() {
        std::fs::write(format!("{root}/include/epode.h"), &generated).expect("header written");
    }
    let committed =
        std::fs::read(format!("{root}/include/epode.h")).expect("include/epode.h exists");
    assert!(
        generated == committed,
        "include/epode.h is stale: run `EPODE_WRITE_HEADER=1 cargo test --test header` (or the cbindgen tool) and commit it"
    );
}

/// Every name the header declares is epode's own: a C program may include
/// it beside any other header (X11's Xlib.h defines `Status`, `Bool`, …).
#[test]
fn the_header_declares_only_epode_names() {
    let root = env!("CARGO_MANIFEST_DIR");
    let header = std::fs::read_to_string(format!("{root}/include/epode.h")).unwrap();
    let declared = declared_names(&header);
    assert!(
        declared.len() > 100,
        "the lint found too few names: {declared:?}"
    );
    let strays: Vec<_> = declared
        .iter()
        .filter(|n| !(n.starts_with("epode_") || n.starts_with("EPODE_")))
        .collect();
    assert!(strays.is_empty(), "names outside epode_/EPODE_: {strays:?}");
}

/// The names a C header declares: macros, struct/enum tags, typedefs,
/// enumerators and functions (not parameters).
fn declared_names(header: &str) -> Vec<String> {
    let mut code = String::new();
    let mut rest = header;
    // Comments out; `#define NAME` kept as a token pair, other directives dropped.
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix("//") {
            rest = r.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix('#') {
            let (line, after) = r.split_once('\n').unwrap_or((r, ""));
            if let Some(def) = line.trim_start().strip_prefix("define") {
                code.push_str(" #define ");
                code.push_str(def.split_whitespace().next().unwrap_or_default());
                code.push(' ');
            }
            code.push(' ');
            rest = after;
        } else {
            let c = rest.chars().next().unwrap();
            code.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in code.chars() {
        if c.is_alphanumeric() || c == '_' || (c == '#' && word.is_empty()) {
            word.push(c);
        } else {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            if !c.is_whitespace() {
                tokens.push(c.to_string());
            }
        }
    }
    let is_ident = |t: &str| {
        t.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
    };
    let (mut names, mut parens, mut braces, mut in_enum) = (Vec::new(), 0, 0, false);
    for (i, t) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1).map(String::as_str).unwrap_or_default();
        let prev = if i > 0 { tokens[i - 1].as_str() } else { "" };
        match t.as_str() {
            "(" => parens += 1,
            ")" => parens -= 1,
            "{" => {
                braces += 1;
                in_enum = tokens[..i].iter().rev().take(3).any(|t| t == "enum");
            }
            "}" => {
                braces -= 1;
                in_enum = false;
            }
            _ if !is_ident(t) => {}
            _ if prev == "#define" || prev == "struct" || prev == "enum" => names.push(t.clone()),
            _ if prev == "*" && i >= 2 && tokens[i - 2] == "(" && next == ")" && parens == 1 => {
                names.push(t.clone()) // typedef void (*name)(…)
            }
            _ if prev == "}" && next == ";" && braces == 0 => names.push(t.clone()),
            _ if in_enum && braces == 1 && (next == "=" || next == "," || next == "}") => {
                names.push(t.clone())
            }
            _ if next == "("
                && tokens.get(i + 2).is_none_or(|t| t != "*")
                && parens == 0
                && braces == 0
                && (is_ident(prev) || prev == "*") =>
            {
                names.push(t.clone())
            }
            _ if next == ";" && parens == 0 && braces == 0 && prev != "}" && is_ident(prev) => {
                names.push(t.clone()) // typedef struct a a;
            }
            _ => {}
        }
    }
    names.retain(|n| n != "#define");
    names
}

#[test]
fn the_lint_sees_a_stray_name() {
    let names = declared_names(
        "/* Status */ typedef struct Status Status;\n#define FOO 1\nint bar(int baz);\ntypedef void (*cb)(void *ud);\ntypedef enum e { A = 0, B } e;\n",
    );
    for n in ["Status", "FOO", "bar", "cb", "A", "B", "e"] {
        assert!(names.contains(&n.to_string()), "{n} missing from {names:?}");
    }
    for n in ["baz", "ud", "void", "int", "typedef"] {
        assert!(!names.contains(&n.to_string()), "{n} in {names:?}");
    }
}

/// A declaration of the header with the comment just above it.
struct Decl {
    /// The function's or typedef's name.
    name: String,
    /// Its `//` comment, without the slashes, its lines joined by spaces.
    doc: String,
    /// The declaration itself, from its first line to its `;`.
    text: String,
    /// A callback typedef (`typedef … (*name)(…);`) rather than a function.
    is_callback: bool,
}

/// The functions and callback typedefs of the header, each with its comment.
fn declarations(header: &str) -> Vec<Decl> {
    let mut out = Vec::new();
    let mut doc = String::new();
    let mut lines = header.lines();
    while let Some(line) = lines.next() {
        if let Some(c) = line.strip_prefix("//") {
            // Lines joined by spaces: a phrase may wrap.
            doc.push_str(c.trim());
            doc.push(' ');
            continue;
        }
        let starts_decl = !line.is_empty()
            && !line.starts_with([' ', '#', '}'])
            && line.contains('(')
            && (line.contains("epode_") || line.starts_with("typedef"));
        if starts_decl {
            let mut text = line.to_string();
            while !text.trim_end().ends_with(';') {
                let Some(more) = lines.next() else { break };
                text.push('\n');
                text.push_str(more);
            }
            let is_callback = text.starts_with("typedef") && text.contains("(*");
            let name = if is_callback {
                text.split("(*").nth(1).and_then(|r| r.split(')').next())
            } else {
                text.split('(')
                    .next()
                    .and_then(|r| r.split([' ', '*']).next_back())
            };
            if let Some(name) = name.filter(|n| n.starts_with("epode_")) {
                out.push(Decl {
                    name: name.to_string(),
                    doc: std::mem::take(&mut doc),
                    text,
                    is_callback,
                });
            }
        }
        doc.clear();
    }
    out
}

fn header_declarations() -> Vec<Decl> {
    let root = env!("CARGO_MANIFEST_DIR");
    let header = std::fs::read_to_string(format!("{root}/include/epode.h")).unwrap();
    let decls = declarations(&header);
    assert!(
        decls.iter().filter(|d| !d.is_callback).count() >= 90
            && decls.iter().any(|d| d.is_callback),
        "the lint found too few declarations: {:?}",
        decls.iter().map(|d| &d.name).collect::<Vec<_>>()
    );
    decls
}

/// Every function's comment follows the template: what it does, then
/// **Ownership**, **Lifetime**, **Thread** and **Errors**, in that order;
/// every callback typedef says how long its pointers live and where it runs.
#[test]
fn every_comment_follows_the_template() {
    let mut bad = Vec::new();
    for d in header_declarations() {
        let headings: &[&str] = if d.is_callback {
            &["**Lifetime**:", "**Thread**:"]
        } else {
            &[
                "**Ownership**:",
                "**Lifetime**:",
                "**Thread**:",
                "**Errors**:",
            ]
        };
        let at: Vec<_> = headings.iter().map(|h| d.doc.find(h)).collect();
        let in_order = at.iter().all(Option::is_some) && at.windows(2).all(|w| w[0] < w[1]);
        if !in_order || at[0] == Some(0) {
            bad.push(d.name);
        }
    }
    assert!(
        bad.is_empty(),
        "comments without the template's headings (in order, after a summary): {bad:?}"
    );
}

/// Every `_new` names the `_free` that frees what it makes.
#[test]
fn every_new_names_its_free() {
    let decls = header_declarations();
    let names: Vec<_> = decls.iter().map(|d| d.name.as_str()).collect();
    for d in decls.iter().filter(|d| d.name.ends_with("_new")) {
        let free = format!("{}_free", d.name.trim_end_matches("_new"));
        assert!(names.contains(&free.as_str()), "{} has no {free}", d.name);
        assert!(
            d.doc.contains(&free),
            "{}'s comment does not name {free}",
            d.name
        );
    }
}

/// Every registration (a function taking a `userdata_free`) says when it runs.
#[test]
fn every_registration_says_when_userdata_free_runs() {
    let decls = header_declarations();
    let registrations: Vec<_> = decls
        .iter()
        .filter(|d| !d.is_callback && d.text.contains("userdata_free"))
        .collect();
    assert!(registrations.len() >= 15, "too few registrations found");
    for d in registrations {
        let says = d.doc.contains("`userdata_free`")
            && d.doc.contains("runs exactly once")
            && d.doc.contains("if it fails");
        assert!(
            says,
            "{} does not say when userdata_free runs (exactly once, also if it fails)",
            d.name
        );
    }
}

/// A `const` handle is a promise that nothing changes: only functions that
/// read (getters, copies, serialization, comparisons) take one; and every
/// function that only reads a connection, stanza or options object takes
/// it `const`.
#[test]
fn const_handles_only_where_nothing_changes() {
    // Verbs of functions that change their first argument.
    let changing = [
        "set",
        "add",
        "delete",
        "connect",
        "attach",
        "restore",
        "disconnect",
        "send",
        "bind",
        "pause",
        "resume",
        "flush",
        "run",
        "free",
        "append",
        "register",
        "finish",
        "c",
        "t",
        "cnode",
        "attrs",
        "up",
    ];
    let reading = [
        "epode_conn_last_error",
        "epode_conn_jid",
        "epode_conn_authzid",
        "epode_conn_domain",
        "epode_conn_flags",
        "epode_conn_status",
        "epode_conn_service",
        "epode_conn_max_retries",
        "epode_conn_disconnection_timeout",
        "epode_conn_option",
        "epode_conn_resumed",
        "epode_conn_sm_state",
        "epode_options_get",
        "epode_stanza_name",
        "epode_stanza_attr",
        "epode_stanza_attr_count",
        "epode_stanza_attr_name_at",
        "epode_stanza_text",
        "epode_stanza_child_count",
        "epode_stanza_child",
        "epode_stanza_find_child",
        "epode_stanza_to_string",
        "epode_stanza_clone",
    ];
    for d in header_declarations().iter().filter(|d| !d.is_callback) {
        let first = d
            .text
            .split('(')
            .nth(1)
            .unwrap_or_default()
            .split([',', ')'])
            .next()
            .unwrap();
        let handle = [
            "epode_conn",
            "epode_stanza",
            "epode_options",
            "epode_builder",
        ]
        .iter()
        .any(|h| first.contains(&format!("struct {h} *")));
        if !handle {
            continue;
        }
        let is_const = first.trim_start().starts_with("const ");
        let verb_changes = d.name.split('_').skip(2).any(|w| changing.contains(&w));
        assert!(
            !(is_const && verb_changes),
            "{} changes its handle but takes it const: {first}",
            d.name
        );
        if reading.contains(&d.name.as_str()) {
            assert!(
                is_const,
                "{} only reads its handle but takes it non-const: {first}",
                d.name
            );
        }
    }
}

/// Every `extern "C"` function of src/ffi has one body shape: `ffi!(…)`
/// (the panic guard and last error written once, in guard.rs), with at most
/// a `Registration::new(…)` before it that owns the userdata from the start.
#[test]
fn every_export_runs_inside_ffi() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut count = 0;
    // src/ffi and its subdirectories (src/ffi/conn/).
    let mut dirs = vec![std::path::PathBuf::from(format!("{root}/src/ffi"))];
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (at, _) in text.match_indices("extern \"C\" fn ") {
            let rest = &text[at..];
            // The body starts after the signature's `{` at the end of a line.
            let Some(open) = rest.find(" {\n") else {
                continue;
            };
            let name = rest["extern \"C\" fn ".len()..].split('(').next().unwrap();
            if rest[..open].contains(';') || !rest[..open].contains(')') {
                continue; // a fn-pointer type, not a definition
            }
            let body: Vec<&str> = rest[open + 3..].lines().map(str::trim).take(3).collect();
            let ok = body[0].starts_with("ffi!(")
                || (body[0].starts_with("let reg = Registration::new(")
                    && body[1].starts_with("ffi!("));
            assert!(
                ok,
                "{}: {name} does not run inside ffi!: {body:?}",
                path.display()
            );
            count += 1;
        }
    }
    assert!(count >= 90, "found only {count} exports");
}

#[test]
fn the_declaration_lint_reads_functions_and_callbacks() {
    let decls = declarations(
        "// Frees.\n//\n// **Ownership**: x\ntypedef void (*epode_free_cb)(void *userdata);\n\n// A.\nenum epode_result epode_a(struct epode_conn *conn,\n                          int b);\n",
    );
    assert_eq!(decls.len(), 2);
    assert_eq!(decls[0].name, "epode_free_cb");
    assert!(decls[0].is_callback && decls[0].doc.contains("**Ownership**: x"));
    assert_eq!(decls[1].name, "epode_a");
    assert!(!decls[1].is_callback && decls[1].text.ends_with("int b);"));
}
