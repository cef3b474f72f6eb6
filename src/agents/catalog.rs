//! The MCP detection rules: id, default severity and why each is worth a
//! look, in English and Korean. One table, read by the engines
//! (`detect/`), the audit, the store and every output.

use serde::{Deserialize, Serialize};

use crate::terms::Severity;

/// Every rule the MCP engines and the config audit can raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgentRule {
    /// A call's arguments name a file that holds secrets.
    SensitiveFileArgument,
    /// A call's result names a secret file or carries private key material.
    SensitiveFileResult,
    /// Shell metacharacters or chained commands sent to a tool that executes.
    CommandInjection,
    /// `curl … | sh` and its kin.
    DownloadAndRun,
    /// A reverse-shell one-liner (the rule pack's own patterns).
    ReverseShellArgument,
    /// A file-system root or argument reaching `/`, the home directory or system paths.
    BroadFilesystemAccess,
    /// The server process listens on a non-loopback address.
    NonLoopbackListener,
    /// The server process is connected to public addresses nothing it declares points at.
    UndeclaredOutbound,
    /// Hidden or imperative instructions in a tool's description or schema.
    HiddenInstructions,
    /// A description that gives orders about other tools.
    CrossToolInstructions,
    /// Invisible or bidirectional Unicode in tool text.
    InvisibleUnicode,
    /// The tool's spec differs from the first one seen (rug pull).
    SpecChanged,
    /// What a tool is called with does not fit what it claims to do.
    ClaimUseMismatch,
    /// A plain-text secret in a configured server's `env`.
    PlaintextSecretInEnv,
    /// A configured server runs from a temporary directory.
    ServerFromTempPath,
    /// `npx`/`uvx` of a package without a pinned version.
    UnpinnedPackage,
}

impl AgentRule {
    pub const ALL: [Self; 16] = [
        Self::SensitiveFileArgument,
        Self::SensitiveFileResult,
        Self::CommandInjection,
        Self::DownloadAndRun,
        Self::ReverseShellArgument,
        Self::BroadFilesystemAccess,
        Self::NonLoopbackListener,
        Self::UndeclaredOutbound,
        Self::HiddenInstructions,
        Self::CrossToolInstructions,
        Self::InvisibleUnicode,
        Self::SpecChanged,
        Self::ClaimUseMismatch,
        Self::PlaintextSecretInEnv,
        Self::ServerFromTempPath,
        Self::UnpinnedPackage,
    ];

    /// The stable id, as stored and shown (`mcp_` keeps it apart from the packs' ids).
    pub fn id(self) -> &'static str {
        match self {
            Self::SensitiveFileArgument => "mcp_sensitive_file_argument",
            Self::SensitiveFileResult => "mcp_sensitive_file_result",
            Self::CommandInjection => "mcp_command_injection",
            Self::DownloadAndRun => "mcp_download_and_run",
            Self::ReverseShellArgument => "mcp_reverse_shell_argument",
            Self::BroadFilesystemAccess => "mcp_broad_filesystem_access",
            Self::NonLoopbackListener => "mcp_non_loopback_listener",
            Self::UndeclaredOutbound => "mcp_undeclared_outbound",
            Self::HiddenInstructions => "mcp_hidden_instructions",
            Self::CrossToolInstructions => "mcp_cross_tool_instructions",
            Self::InvisibleUnicode => "mcp_invisible_unicode",
            Self::SpecChanged => "mcp_spec_changed",
            Self::ClaimUseMismatch => "mcp_claim_use_mismatch",
            Self::PlaintextSecretInEnv => "mcp_plaintext_secret_in_env",
            Self::ServerFromTempPath => "mcp_server_from_temp_path",
            Self::UnpinnedPackage => "mcp_unpinned_package",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == id)
    }

    /// A short name for lists.
    pub fn name(self) -> &'static str {
        match self {
            Self::SensitiveFileArgument => "Secret file in tool arguments",
            Self::SensitiveFileResult => "Secret file or key material in a tool result",
            Self::CommandInjection => "Chained shell command to an executing tool",
            Self::DownloadAndRun => "Download-and-run command",
            Self::ReverseShellArgument => "Reverse-shell line in tool arguments",
            Self::BroadFilesystemAccess => "File-system access reaching /, home or system paths",
            Self::NonLoopbackListener => "MCP server listening beyond loopback",
            Self::UndeclaredOutbound => "MCP server connected to hosts it never declared",
            Self::HiddenInstructions => "Hidden instructions in a tool description",
            Self::CrossToolInstructions => "Tool description gives orders about other tools",
            Self::InvisibleUnicode => "Invisible or bidirectional characters in tool text",
            Self::SpecChanged => "Tool spec changed since first seen (rug pull)",
            Self::ClaimUseMismatch => "Tool used for something it does not claim",
            Self::PlaintextSecretInEnv => "Plain-text secret in a server's env",
            Self::ServerFromTempPath => "Server runs from a temporary directory",
            Self::UnpinnedPackage => "Server package not pinned to a version",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Self::DownloadAndRun | Self::ReverseShellArgument => Severity::Critical,
            Self::SensitiveFileArgument
            | Self::SensitiveFileResult
            | Self::CommandInjection
            | Self::HiddenInstructions
            | Self::SpecChanged
            | Self::PlaintextSecretInEnv
            | Self::ServerFromTempPath => Severity::High,
            Self::BroadFilesystemAccess
            | Self::NonLoopbackListener
            | Self::UndeclaredOutbound
            | Self::CrossToolInstructions
            | Self::InvisibleUnicode
            | Self::ClaimUseMismatch => Severity::Medium,
            Self::UnpinnedPackage => Severity::Low,
        }
    }

    pub fn explanation(self) -> &'static str {
        match self {
            Self::SensitiveFileArgument => {
                "An assistant asked an MCP tool to touch a file that usually holds secrets (SSH keys, cloud or kube credentials, browser profiles, keyrings, .netrc, .git-credentials). Worth a look: was that what the user asked for?"
            }
            Self::SensitiveFileResult => {
                "A tool's answer names a secret file or carries private key material: the secret is now in the assistant's context and may leave with its next request."
            }
            Self::CommandInjection => {
                "A tool that runs commands was given shell metacharacters or chained commands (; && || | $( ) backticks): one request carries more than one command, commonly associated with prompt injection."
            }
            Self::DownloadAndRun => {
                "The arguments download a script and pipe it straight into a shell or interpreter (curl … | sh): code nobody has read runs with the user's rights."
            }
            Self::ReverseShellArgument => {
                "The arguments hold a known reverse-shell one-liner (bash /dev/tcp, nc -e, socat exec:, …), the same patterns the process rules use. Legitimate work almost never needs one."
            }
            Self::BroadFilesystemAccess => {
                "A file-system tool's root or argument reaches /, the home directory or a system path: the server can read far more than one project."
            }
            Self::NonLoopbackListener => "The MCP server process listens on a non-loopback address: anyone who can reach this host may talk to it.",
            Self::UndeclaredOutbound => {
                "The MCP server process is connected to public addresses that nothing it declares (its command line, env names, URL, tool descriptions) points at: a tool may be sending data somewhere the user never agreed to. The evidence lists the endpoints."
            }
            Self::HiddenInstructions => {
                "A tool's description or schema carries instructions for the model rather than for the user (\"ignore previous\", \"do not tell the user\", <IMPORTANT> blocks, requests to read files): a pattern of tool poisoning."
            }
            Self::CrossToolInstructions => {
                "A tool's description tells the model how to use other tools (always, never, instead, before): a tool should describe itself, not steer others (tool shadowing)."
            }
            Self::InvisibleUnicode => {
                "Tool text holds invisible or bidirectional characters (zero-width, tag characters, direction overrides): the model reads text the user cannot see."
            }
            Self::SpecChanged => {
                "A tool's description or input schema differs from the first version seen for this server: a tool approved once may now do something else (rug pull)."
            }
            Self::ClaimUseMismatch => {
                "What the tool was called with (paths, hosts, commands) does not fit what its name, description and parameters claim; the score and the terms that drove it are in the evidence."
            }
            Self::PlaintextSecretInEnv => {
                "A client configuration passes a secret to a server as a plain-text env value: anyone who can read the file, or back it up, has it. Prefer a reference or a secret store."
            }
            Self::ServerFromTempPath => {
                "A configured server runs a program from a temporary directory (/tmp, /var/tmp, /dev/shm): anyone with write access there can replace it."
            }
            Self::UnpinnedPackage => "The server is fetched with npx/uvx without a version: each start may run a newer package than the one reviewed.",
        }
    }

    pub fn explanation_ko(self) -> &'static str {
        match self {
            Self::SensitiveFileArgument => {
                "어시스턴트가 MCP 도구에 비밀 정보를 담는 파일(SSH 키, 클라우드·kube 자격 증명, 브라우저 프로필, 키링, .netrc, .git-credentials)을 다루도록 요청했습니다. 사용자가 요청한 작업인지 확인해 볼 만합니다."
            }
            Self::SensitiveFileResult => {
                "도구의 응답에 비밀 파일 이름이나 개인 키 내용이 들어 있습니다. 비밀이 어시스턴트의 컨텍스트에 들어갔고 다음 요청과 함께 밖으로 나갈 수 있습니다."
            }
            Self::CommandInjection => {
                "명령을 실행하는 도구에 셸 메타문자나 연결된 명령(; && || | $( ) 백틱)이 전달되었습니다. 한 요청에 둘 이상의 명령이 들어 있으며, 프롬프트 인젝션과 흔히 관련됩니다."
            }
            Self::DownloadAndRun => {
                "인자가 스크립트를 내려받아 곧바로 셸이나 인터프리터로 넘깁니다(curl … | sh). 아무도 읽지 않은 코드가 사용자 권한으로 실행됩니다."
            }
            Self::ReverseShellArgument => {
                "인자에 잘 알려진 리버스 셸 한 줄 명령(bash /dev/tcp, nc -e, socat exec: 등)이 들어 있습니다. 프로세스 규칙과 같은 패턴입니다. 정상 작업에는 거의 필요하지 않습니다."
            }
            Self::BroadFilesystemAccess => {
                "파일 시스템 도구의 루트나 인자가 /, 홈 디렉터리, 시스템 경로에 이릅니다. 서버가 한 프로젝트보다 훨씬 많은 것을 읽을 수 있습니다."
            }
            Self::NonLoopbackListener => "MCP 서버 프로세스가 루프백이 아닌 주소에서 대기하고 있습니다. 이 호스트에 닿을 수 있는 누구나 접속할 수 있습니다.",
            Self::UndeclaredOutbound => {
                "MCP 서버 프로세스가 자신이 밝힌 어떤 것(명령줄, env 이름, URL, 도구 설명)도 가리키지 않는 공인 주소에 연결되어 있습니다. 도구가 사용자가 동의하지 않은 곳으로 데이터를 보내고 있을 수 있습니다. 증거에 엔드포인트 목록이 있습니다."
            }
            Self::HiddenInstructions => {
                "도구 설명이나 스키마에 사용자가 아닌 모델을 향한 지시(\"ignore previous\", \"do not tell the user\", <IMPORTANT> 블록, 파일을 읽으라는 요청)가 들어 있습니다. 도구 오염(tool poisoning)의 패턴입니다."
            }
            Self::CrossToolInstructions => {
                "도구 설명이 다른 도구를 어떻게 쓸지 모델에게 지시합니다(always, never, instead, before). 도구는 자신을 설명해야 하며 다른 도구를 조종해서는 안 됩니다(tool shadowing)."
            }
            Self::InvisibleUnicode => {
                "도구 텍스트에 보이지 않거나 방향을 바꾸는 문자(폭 없는 문자, 태그 문자, 방향 재정의)가 있습니다. 모델은 사용자가 볼 수 없는 텍스트를 읽습니다."
            }
            Self::SpecChanged => {
                "도구의 설명이나 입력 스키마가 이 서버에서 처음 본 버전과 다릅니다. 한 번 승인된 도구가 이제 다른 일을 할 수 있습니다(rug pull)."
            }
            Self::ClaimUseMismatch => {
                "도구가 호출된 내용(경로, 호스트, 명령)이 이름·설명·매개변수가 주장하는 기능과 맞지 않습니다. 점수와 그 근거가 된 단어는 증거에 있습니다."
            }
            Self::PlaintextSecretInEnv => {
                "클라이언트 설정이 서버에 비밀을 평문 env 값으로 넘깁니다. 파일을 읽거나 백업할 수 있는 누구나 그 비밀을 갖게 됩니다. 참조나 비밀 저장소를 쓰는 편이 낫습니다."
            }
            Self::ServerFromTempPath => {
                "설정된 서버가 임시 디렉터리(/tmp, /var/tmp, /dev/shm)의 프로그램을 실행합니다. 그곳에 쓸 수 있는 누구나 그 프로그램을 바꿀 수 있습니다."
            }
            Self::UnpinnedPackage => "서버를 버전 없이 npx/uvx로 가져옵니다. 시작할 때마다 검토한 것보다 새로운 패키지가 실행될 수 있습니다.",
        }
    }
}

/// Written as its id (`mcp_…`).
impl Serialize for AgentRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for AgentRule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        Self::from_id(&id).ok_or_else(|| serde::de::Error::custom(format!("unknown MCP rule `{}`", crate::text::bounded(&id, 64))))
    }
}

/// One thing an MCP engine or the audit found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentFinding {
    pub rule: AgentRule,
    pub severity: Severity,
    /// The tool it is about, when one.
    pub tool: Option<String>,
    /// What matched, bounded (escape before showing).
    pub evidence: String,
}

/// Most characters of evidence kept.
pub const EVIDENCE_MAX: usize = 300;

impl AgentFinding {
    pub fn new(rule: AgentRule, tool: Option<&str>, evidence: &str) -> Self {
        Self {
            rule,
            severity: rule.severity(),
            tool: tool.map(|t| crate::text::bounded(t, 128)),
            evidence: crate::text::bounded(&super::redact::scrub(evidence), EVIDENCE_MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AgentRule;

    #[test]
    fn ids_are_unique_and_round_trip_and_every_rule_is_explained() {
        let mut ids = std::collections::BTreeSet::new();
        for r in AgentRule::ALL {
            assert!(ids.insert(r.id()), "{}", r.id());
            assert_eq!(AgentRule::from_id(r.id()), Some(r));
            assert!(!r.explanation().is_empty() && !r.explanation_ko().is_empty() && !r.name().is_empty());
        }
        assert_eq!(AgentRule::from_id("nope"), None);
    }
}
