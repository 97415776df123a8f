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
