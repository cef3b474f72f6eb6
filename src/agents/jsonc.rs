//! JSON with comments and trailing commas (VS Code and Zed settings), made
//! plain JSON: `//` and `/* */` comments outside strings become spaces, a
//! comma before `}` or `]` goes. Strings are left as they are.

/// `text` as plain JSON (same line numbers: newlines are kept).
pub fn strip(text: &str) -> String {
    let b = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    let mut in_string = false;
    while i < b.len() {
        let c = b[i];
        if in_string {
            out.push(c);
            if c == b'\\' && i + 1 < b.len() {
                out.push(b[i + 1]);
                i += 2;
                continue;
            }
            if c == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match (c, b.get(i + 1)) {
            (b'"', _) => {
                in_string = true;
                out.push(c);
                i += 1;
            }
            (b'/', Some(b'/')) => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            (b'/', Some(b'*')) => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    if b[i] == b'\n' {
                        out.push(b'\n');
                    }
                    i += 1;
                }
                i += 2;
            }
            (b'}' | b']', _) => {
                // Drop a trailing comma (and keep what followed it).
                if let Some(pos) = out.iter().rposition(|x| !x.is_ascii_whitespace())
                    && out[pos] == b','
                {
                    out[pos] = b' ';
                }
                out.push(c);
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn comments_and_trailing_commas_go_strings_stay() {
        let text = "{\n // a comment\n \"a\": \"http://x//y\", /* block */ \"b\": [1, 2,],\n}";
        let v: serde_json::Value = serde_json::from_str(&super::strip(text)).expect("plain JSON");
        assert_eq!(v, serde_json::json!({"a": "http://x//y", "b": [1, 2]}));
    }
}
