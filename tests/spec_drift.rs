//! The Rust model is typed from `specs/network_map.yaml`: every node type,
//! edge type and field has a Rust counterpart, of a matching kind. These
//! tests fail when either side gains, loses or changes a field.

use std::collections::BTreeSet;

use necromap::model::{
    ConnectionEdge, EndpointGroupNode, GroupStrategy, GroupZone, ProcessFacts, ProcessNode, Protocol, RemoteEndpointNode, ServiceListenerNode, ShellLink,
    SocketState, Workload, Zone,
};
use necromap::spec::{FieldSpec, FieldType, Spec};
use serde_json::Value;

/// A value of every Rust node/edge type with every optional field filled,
/// so each field shows up in its JSON form.
fn samples() -> Vec<(&'static str, Value)> {
    let process = ProcessNode {
        facts: ProcessFacts {
            pid: 1,
            ppid: 0,
            ancestors: vec!["init".into()],
            name: "n".into(),
            cmdline: "c".into(),
            parent_cmdline: "p".into(),
            exe: Some("/e".into()),
            exe_deleted: false,
            exe_memfd: false,
            cwd: Some("/".into()),
            uid: 0,
            user: Some("root".into()),
            start_time_ms: 1,
            stdio_sockets: vec![0],
            has_tty: false,
            sensitive_files: vec!["/root/.ssh/id_ed25519".into()],
            shell_links: vec![ShellLink { pid: 2, name: "sh".into(), cmdline: "sh -i".into(), input: Vec::new(), output: Vec::new() }],
            netns: Some(necromap::model::NetNs(4_026_532_301)),
            workload: Workload {
                container: Some(necromap::model::Container {
                    runtime: necromap::model::Runtime::Docker,
                    id: "0123456789ab".into(),
                    full_id: "0123456789ab".repeat(5) + "0123",
                    ..Default::default()
                }),
                unit: None,
                slice: Some("system.slice".into()),
            },
        },
        socket_count: 1,
        listener_count: 0,
        bytes_sent: 1,
        bytes_received: 1,
    };
    let endpoint = RemoteEndpointNode {
        ip: "192.0.2.1".parse().expect("ip"),
        netns: Some(necromap::model::NetNs(4_026_532_301)),
        zone: Zone::Public,
        ports: vec![443],
        hostname: Some("h".into()),
        names: vec!["h".into()],
        name_source: Some(necromap::model::NameSource::DnsAnswer),
        asked_by: Some(1),
        country: Some("AU".into()),
        tags: vec!["t".into()],
        connection_count: 1,
        process_count: 1,
        new_per_minute: 0.5,
        bytes_sent: 1,
        bytes_received: 1,
    };
    let listener = ServiceListenerNode {
        protocol: Protocol::Tcp,
        address: "0.0.0.0".parse().expect("ip"),
        port: 22,
        wildcard: true,
        pid: Some(1),
        process_name: Some("sshd".into()),
        inode: 1,
        inbound_count: 0,
        netns: Some(necromap::model::NetNs(4_026_532_301)),
    };
    let group = EndpointGroupNode {
        label: "l".into(),
        strategy: GroupStrategy::Subnet,
        zone: GroupZone::Mixed,
        members: vec!["192.0.2.1".into()],
        member_count: 1,
        connection_count: 1,
    };
    let edge = ConnectionEdge {
        protocol: Protocol::Tcp,
        state: SocketState::Established,
        local_port: 1,
        remote_port: 2,
        bytes_sent: 1,
        bytes_received: 1,
        duration_ms: 1,
        inode: 1,
        socket_count: 1,
    };
    let j = |v: serde_json::Result<Value>| v.expect("serialises");
    vec![
        ("process", j(serde_json::to_value(&process))),
        ("remote_endpoint", j(serde_json::to_value(&endpoint))),
        ("service_listener", j(serde_json::to_value(&listener))),
        ("endpoint_group", j(serde_json::to_value(&group))),
        ("outbound_connection", j(serde_json::to_value(&edge))),
        ("inbound_connection", j(serde_json::to_value(&edge))),
        ("listener_binding", j(serde_json::to_value(&edge))),
    ]
}

fn spec_fields(spec: &Spec, name: &str) -> Vec<(String, FieldSpec)> {
    let nodes = spec.node_types.iter().map(|(n, t)| (n, &t.fields));
    let edges = spec.edge_types.iter().map(|(n, t)| (n, &t.fields));
    let fields = nodes.chain(edges).find(|(n, _)| *n == name).map(|(_, f)| f).expect("type in spec");
    fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Whether a JSON value can be a field of this spec kind.
fn kind_matches(kind: FieldType, v: &Value) -> bool {
    match kind {
        FieldType::Integer | FieldType::TimestampMs | FieldType::DurationMs | FieldType::Bytes => v.is_i64() || v.is_u64(),
        FieldType::Float => v.is_number(),
        FieldType::String | FieldType::Ip | FieldType::Enum => v.is_string(),
        FieldType::Boolean => v.is_boolean(),
        FieldType::ListString => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
        FieldType::ListInteger => v.as_array().is_some_and(|a| a.iter().all(|x| x.is_u64() || x.is_i64())),
        FieldType::ListObject => v.as_array().is_some_and(|a| a.iter().all(Value::is_object)),
        FieldType::Object => v.is_object(),
    }
}

#[test]
fn every_spec_type_has_a_rust_counterpart_with_the_same_fields() {
    let spec = Spec::embedded();
    let names: BTreeSet<&str> = spec.node_types.iter().map(|(n, _)| n).chain(spec.edge_types.iter().map(|(n, _)| n)).collect();
    let samples = samples();
    let rust: BTreeSet<&str> = samples.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, rust, "node/edge types differ between the spec and the Rust model");

    for (name, value) in &samples {
        let obj = value.as_object().expect("struct serialises to an object");
        let fields = spec_fields(&spec, name);
        let in_spec: BTreeSet<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        let in_rust: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
        let missing_in_rust: Vec<_> = in_spec.difference(&in_rust).collect();
        let missing_in_spec: Vec<_> = in_rust.difference(&in_spec).collect();
        assert!(missing_in_rust.is_empty(), "{name}: fields in the spec but not in Rust: {missing_in_rust:?}");
        assert!(missing_in_spec.is_empty(), "{name}: fields in Rust but not in the spec: {missing_in_spec:?}");
        for (field, fs) in &fields {
            let v = &obj[field];
            assert!(kind_matches(fs.kind, v), "{name}.{field}: spec says {:?}, Rust gives {v}", fs.kind);
        }
    }
}

#[test]
fn enum_fields_list_the_values_rust_produces() {
    let spec = Spec::embedded();
    let values = |ty: &str, field: &str| -> Vec<String> {
        let fields = spec_fields(&spec, ty);
        let f = &fields.iter().find(|(k, _)| k == field).expect("field").1;
        match f.values.as_ref().expect("enum values") {
            necromap::spec::EnumValues::List(l) => l.clone(),
            necromap::spec::EnumValues::Named(_) => spec.states.keys().map(|s| s.name().to_string()).collect(),
        }
    };
    let json_name = |v: Value| v.as_str().expect("string").to_string();
    for z in Zone::ALL {
        assert!(values("remote_endpoint", "zone").contains(&json_name(serde_json::to_value(z).expect("zone"))), "{z}");
    }
    for s in [GroupStrategy::Ip, GroupStrategy::Subnet, GroupStrategy::Asn, GroupStrategy::Country, GroupStrategy::Overflow] {
        assert!(values("endpoint_group", "strategy").contains(&json_name(serde_json::to_value(s).expect("strategy"))));
    }
    for s in SocketState::ALL {
        assert!(values("outbound_connection", "state").contains(&s.name().to_string()));
        assert_eq!(json_name(serde_json::to_value(s).expect("state")), s.name());
    }
    assert_eq!(values("service_listener", "protocol"), vec!["tcp", "udp"]);
}
