use super::*;

fn s(x: &str) -> Value {
    Value::Str(x.to_owned())
}

fn dict(pairs: &[(&str, Value)]) -> Value {
    Value::Dict(pairs.iter().map(|(k, v)| (s(k), v.clone())).collect())
}

#[test]
fn requests() {
    let f = |request: Value, want: Result<Request, CarbonlinkError>| {
        assert_eq!(
            decode_request(&pickle::encode(&request)),
            want,
            "{request:?}"
        );
    };
    f(
        dict(&[("type", s("cache-query")), ("metric", s("a.b"))]),
        Ok(Request::CacheQuery {
            metric: "a.b".into(),
        }),
    );
    f(
        dict(&[
            ("type", s("cache-query-bulk")),
            ("metrics", Value::List(vec![s("a"), s("b")])),
        ]),
        Ok(Request::CacheQueryBulk {
            metrics: vec!["a".into(), "b".into()],
        }),
    );
    f(
        dict(&[
            ("type", s("cache-query-bulk")),
            ("metrics", Value::Tuple(vec![])),
        ]),
        Ok(Request::CacheQueryBulk { metrics: vec![] }),
    );
    f(
        dict(&[
            ("type", s("get-metadata")),
            ("metric", s("a")),
            ("key", s("aggregationMethod")),
        ]),
        Ok(Request::GetMetadata {
            metric: "a".into(),
            key: "aggregationMethod".into(),
        }),
    );
    f(
        dict(&[
            ("type", s("set-metadata")),
            ("metric", s("a")),
            ("key", s("aggregationMethod")),
            ("value", s("max")),
        ]),
        Ok(Request::SetMetadata {
            metric: "a".into(),
            key: "aggregationMethod".into(),
            value: s("max"),
        }),
    );
    f(
        dict(&[("type", s("flush")), ("metric", s("a"))]),
        Ok(Request::Unknown {
            request_type: "flush".into(),
        }),
    );
    f(
        dict(&[("type", Value::Int(7))]),
        Ok(Request::Unknown {
            request_type: "7".into(),
        }),
    );
    f(
        dict(&[("type", Value::Bytes(b"cache-query".to_vec()))]),
        Ok(Request::Unknown {
            request_type: "b'cache-query'".into(),
        }),
    );
    f(Value::List(vec![]), Err(CarbonlinkError::NotADict("list")));
    f(dict(&[]), Err(CarbonlinkError::MissingKey("type")));
    f(
        dict(&[("type", s("cache-query"))]),
        Err(CarbonlinkError::MissingKey("metric")),
    );
    f(
        dict(&[("type", s("cache-query")), ("metric", Value::None)]),
        Err(CarbonlinkError::WrongType {
            key: "metric",
            expected: "str",
            found: "NoneType",
        }),
    );
    f(
        dict(&[
            ("type", s("cache-query-bulk")),
            ("metrics", Value::List(vec![s("a"), Value::Int(1)])),
        ]),
        Err(CarbonlinkError::WrongType {
            key: "metrics",
            expected: "list of str",
            found: "int",
        }),
    );
    assert!(matches!(
        decode_request(b"cos\nsystem\n(S'id'\ntR."),
        Err(CarbonlinkError::Pickle(PickleError::Forbidden {
            name: "GLOBAL",
            ..
        }))
    ));
}

#[test]
fn responses() {
    let f = |response: Response, want: Value| {
        assert_eq!(response.to_value(), want, "{response:?}");
        assert_eq!(pickle::decode(&response.encode()), Ok(want));
    };
    let point = |t: Value, v: f64| Value::Tuple(vec![t, Value::Float(v)]);
    f(
        Response::Datapoints(vec![(1700000000.0, 1.5), (1700000060.5, -2.0)]),
        dict(&[(
            "datapoints",
            Value::List(vec![
                point(Value::Int(1700000000), 1.5),
                point(Value::Float(1700000060.5), -2.0),
            ]),
        )]),
    );
    f(
        Response::Datapoints(vec![]),
        dict(&[("datapoints", Value::List(vec![]))]),
    );
    f(
        Response::DatapointsByMetric(vec![("a".into(), vec![(60.0, 1.0)]), ("b".into(), vec![])]),
        dict(&[(
            "datapointsByMetric",
            dict(&[
                ("a", Value::List(vec![point(Value::Int(60), 1.0)])),
                ("b", Value::List(vec![])),
            ]),
        )]),
    );
    f(
        Response::Value(s("average")),
        dict(&[("value", s("average"))]),
    );
    f(
        Response::SetMetadata {
            old_value: s("average"),
            new_value: s("max"),
        },
        dict(&[("old_value", s("average")), ("new_value", s("max"))]),
    );
    f(
        Response::invalid_request_type("flush"),
        dict(&[("error", s("Invalid request type \"flush\""))]),
    );
}
