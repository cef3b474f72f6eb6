//! Fleet rules: patterns only visible across hosts. Placeholder filled below.
