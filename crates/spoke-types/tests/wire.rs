//! The exact JSON of every wire type: what serializes is compared byte for byte with
//! HubSpot's shape, and what deserializes is checked for the fields a request may leave out
//! or send as `null`. These pin the types' serde attributes, so a change to how a type is
//! declared cannot change the wire.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use spoke_types::associations::{
    AssociationMultiArchive, AssociationMultiPost, AssociationSpec, AssociationSpecWithLabel,
    AssociationsPage, DefaultAssociationPost, FetchRequest, LabelCreate, LabelUpdate,
    LabelsBetweenObjectPair, MultiAssociatedObjectWithLabel, NextPage, Paging,
    PublicAssociationMultiWithLabel, PublicDefaultAssociation, PublicObjectId, PublicObjectIdIn,
};
use spoke_types::error::{Error, ErrorContext, ErrorDetail, StandardError};
use spoke_types::objects::{
    AssociatedId, BatchInput, BatchReadInput, BatchResponse, CollectionResponse,
    CollectionResponseAssociatedId, Filter, PublicAssociationsForObject, PublicObjectSearchRequest,
    SearchNext, SearchPaging, SearchResponse, SimplePublicObject, SimplePublicObjectBatchInput,
    SimplePublicObjectId, SimplePublicObjectInput, SimplePublicObjectInputForCreate, SortSpec,
    ValueWithTimestamp,
};
use spoke_types::properties::{
    BatchReadPropertyNames, OptionInput, Property, PropertyCreate, PropertyGroup,
    PropertyGroupCreate, PropertyGroupUpdate, PropertyModificationMetadata, PropertyName,
    PropertyOptionOut, PropertyUpdate, Results,
};

fn text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("every wire type serializes")
}

fn parse<T: DeserializeOwned>(json: &str) -> T {
    serde_json::from_str(json).expect("the request parses")
}

fn context() -> ErrorContext {
    BTreeMap::from([("properties".to_owned(), vec!["email".to_owned()])])
}

fn next(after: &str, link: Option<&str>) -> Option<Paging> {
    Some(Paging {
        next: NextPage {
            after: after.to_owned(),
            link: link.map(str::to_owned),
        },
    })
}

#[test]
fn errors_serialize_in_hubspots_key_order() {
    let detail = ErrorDetail {
        message: "bad".into(),
        code: Some("INVALID_EMAIL".into()),
        context: context(),
        sub_category: Some("sub".into()),
    };
    assert_eq!(
        text(&detail),
        r#"{"message":"bad","code":"INVALID_EMAIL","context":{"properties":["email"]},"subCategory":"sub"}"#
    );
    let bare = ErrorDetail {
        message: "bad".into(),
        code: None,
        context: ErrorContext::new(),
        sub_category: None,
    };
    assert_eq!(text(&bare), r#"{"message":"bad"}"#);

    let full = Error {
        status: "error",
        message: "m".into(),
        error_type: Some("RATE_LIMIT".into()),
        correlation_id: "c-1".into(),
        policy_name: Some("SECONDLY".into()),
        errors: vec![bare.clone()],
        context: context(),
        links: BTreeMap::from([("docs".to_owned(), "https://x".to_owned())]),
        category: Some("VALIDATION_ERROR".into()),
        sub_category: Some("s".into()),
    };
    assert_eq!(
        text(&full),
        concat!(
            r#"{"status":"error","message":"m","errorType":"RATE_LIMIT","correlationId":"c-1","#,
            r#""policyName":"SECONDLY","errors":[{"message":"bad"}],"context":{"properties":["email"]},"#,
            r#""links":{"docs":"https://x"},"category":"VALIDATION_ERROR","subCategory":"s"}"#
        )
    );
    let minimal = Error {
        error_type: None,
        policy_name: None,
        errors: Vec::new(),
        context: ErrorContext::new(),
        links: BTreeMap::new(),
        category: None,
        sub_category: None,
        ..full
    };
    assert_eq!(
        text(&minimal),
        r#"{"status":"error","message":"m","correlationId":"c-1"}"#
    );

    let item = StandardError {
        status: "error",
        category: "OBJECT_NOT_FOUND".into(),
        sub_category: Some("s".into()),
        message: "m".into(),
        context: ErrorContext::new(),
    };
    assert_eq!(
        text(&item),
        r#"{"status":"error","category":"OBJECT_NOT_FOUND","subCategory":"s","message":"m","context":{}}"#
    );
    let item = StandardError {
        sub_category: None,
        context: context(),
        ..item
    };
    assert_eq!(
        text(&item),
        r#"{"status":"error","category":"OBJECT_NOT_FOUND","message":"m","context":{"properties":["email"]}}"#
    );
}

#[test]
fn records_and_their_envelopes_serialize_in_hubspots_key_order() {
    let history = ValueWithTimestamp {
        value: "a".into(),
        timestamp: "2024-01-01T00:00:00Z".into(),
        source_type: "API".into(),
        source_id: Some("s".into()),
    };
    assert_eq!(
        text(&history),
        r#"{"value":"a","timestamp":"2024-01-01T00:00:00Z","sourceType":"API","sourceId":"s"}"#
    );
    let history = ValueWithTimestamp {
        source_id: None,
        ..history
    };
    let full: SimplePublicObject = SimplePublicObject {
        id: "1".into(),
        properties: BTreeMap::from([("email".to_owned(), Some("a@b.c".to_owned()))]),
        properties_with_history: Some(BTreeMap::from([("email".to_owned(), vec![history])])),
        created_at: "c".into(),
        updated_at: "u".into(),
        archived: true,
        archived_at: Some("a".into()),
        associations: Some(BTreeMap::from([(
            "companies".to_owned(),
            CollectionResponseAssociatedId {
                results: vec![AssociatedId {
                    id: "2".into(),
                    kind: "contact_to_company".into(),
                }],
                paging: next("3", Some("l")),
            },
        )])),
        new: Some(false),
        object_write_trace_id: Some("t".into()),
    };
    assert_eq!(
        text(&full),
        concat!(
            r#"{"id":"1","properties":{"email":"a@b.c"},"propertiesWithHistory":{"email":[{"value":"a","#,
            r#""timestamp":"2024-01-01T00:00:00Z","sourceType":"API"}]},"createdAt":"c","updatedAt":"u","#,
            r#""archived":true,"archivedAt":"a","associations":{"companies":{"results":[{"id":"2","#,
            r#""type":"contact_to_company"}],"paging":{"next":{"after":"3","link":"l"}}}},"new":false,"#,
            r#""objectWriteTraceId":"t"}"#
        )
    );
    let bare = SimplePublicObject {
        properties_with_history: None,
        archived: false,
        archived_at: None,
        associations: None,
        new: None,
        object_write_trace_id: None,
        ..full
    };
    let bare_json = r#"{"id":"1","properties":{"email":"a@b.c"},"createdAt":"c","updatedAt":"u","archived":false}"#;
    assert_eq!(text(&bare), bare_json);

    let batch = BatchResponse {
        status: "COMPLETE",
        results: vec![bare.clone()],
        num_errors: Some(1),
        errors: vec![StandardError {
            status: "error",
            category: "c".into(),
            sub_category: None,
            message: "m".into(),
            context: ErrorContext::new(),
        }],
        started_at: "s".into(),
        completed_at: "e".into(),
    };
    assert_eq!(
        text(&batch),
        format!(
            concat!(
                r#"{{"status":"COMPLETE","results":[{}],"numErrors":1,"errors":[{{"status":"error","#,
                r#""category":"c","message":"m","context":{{}}}}],"startedAt":"s","completedAt":"e"}}"#
            ),
            bare_json
        )
    );
    let clean: BatchResponse<SimplePublicObject> = BatchResponse {
        status: "COMPLETE",
        results: Vec::new(),
        num_errors: None,
        errors: Vec::new(),
        started_at: "s".into(),
        completed_at: "e".into(),
    };
    assert_eq!(
        text(&clean),
        r#"{"status":"COMPLETE","results":[],"startedAt":"s","completedAt":"e"}"#
    );

    let page = CollectionResponse {
        results: vec![bare],
        paging: next("9", None),
    };
    assert_eq!(
        text(&page),
        format!(r#"{{"results":[{bare_json}],"paging":{{"next":{{"after":"9"}}}}}}"#)
    );
    let search = SearchResponse {
        total: 7,
        results: Vec::<u8>::new(),
        paging: Some(SearchPaging {
            next: SearchNext { after: "5".into() },
        }),
    };
    assert_eq!(
        text(&search),
        r#"{"total":7,"results":[],"paging":{"next":{"after":"5"}}}"#
    );
}

#[test]
fn association_responses_serialize_in_hubspots_key_order() {
    let to: MultiAssociatedObjectWithLabel = MultiAssociatedObjectWithLabel {
        to_object_id: 5,
        association_types: vec![AssociationSpecWithLabel {
            category: "HUBSPOT_DEFINED".into(),
            type_id: 279,
            label: None,
        }],
    };
    let to_json = r#"{"toObjectId":5,"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":279,"label":null}]}"#;
    assert_eq!(text(&to), to_json);
    // Reads borrow their text; the wire is the same.
    let borrowed = MultiAssociatedObjectWithLabel {
        to_object_id: 5,
        association_types: vec![
            AssociationSpecWithLabel {
                category: "HUBSPOT_DEFINED",
                type_id: 279,
                label: None,
            },
            AssociationSpecWithLabel {
                category: "USER_DEFINED",
                type_id: 7,
                label: Some("Boss \"A\""),
            },
        ],
    };
    assert_eq!(
        text(&borrowed),
        r#"{"toObjectId":5,"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":279,"label":null},{"category":"USER_DEFINED","typeId":7,"label":"Boss \"A\""}]}"#
    );
    let page = AssociationsPage {
        results: vec![to.clone()],
        paging: next("6", Some("l")),
    };
    assert_eq!(
        text(&page),
        format!(r#"{{"results":[{to_json}],"paging":{{"next":{{"after":"6","link":"l"}}}}}}"#)
    );
    let last: AssociationsPage = AssociationsPage {
        results: Vec::new(),
        paging: None,
    };
    assert_eq!(text(&last), r#"{"results":[]}"#);
    let multi = PublicAssociationMultiWithLabel {
        from: PublicObjectId { id: "1".into() },
        to: vec![to],
        paging: None,
    };
    assert_eq!(
        text(&multi),
        format!(r#"{{"from":{{"id":"1"}},"to":[{to_json}]}}"#)
    );
    let labels = LabelsBetweenObjectPair {
        from_object_type_id: "0-1".into(),
        from_object_id: 1,
        to_object_type_id: "0-2".into(),
        to_object_id: 2,
        labels: vec!["Primary".into()],
    };
    assert_eq!(
        text(&labels),
        r#"{"fromObjectTypeId":"0-1","fromObjectId":1,"toObjectTypeId":"0-2","toObjectId":2,"labels":["Primary"]}"#
    );
    let default = PublicDefaultAssociation {
        from: PublicObjectId { id: "1".into() },
        to: PublicObjectId { id: "2".into() },
        association_spec: AssociationSpec {
            association_category: "HUBSPOT_DEFINED".into(),
            association_type_id: 279,
        },
    };
    assert_eq!(
        text(&default),
        r#"{"from":{"id":"1"},"to":{"id":"2"},"associationSpec":{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}}"#
    );
}

#[test]
fn properties_serialize_in_hubspots_key_order() {
    let property = Property {
        updated_at: Some("u".into()),
        created_at: Some("c".into()),
        archived_at: Some("a".into()),
        name: "n".into(),
        label: "l".into(),
        kind: "enumeration".into(),
        field_type: "select".into(),
        description: "d".into(),
        group_name: "g".into(),
        options: vec![
            PropertyOptionOut {
                label: "A".into(),
                value: "a".into(),
                description: Some("x".into()),
                display_order: 0,
                hidden: false,
            },
            PropertyOptionOut {
                label: "B".into(),
                value: "b".into(),
                description: None,
                display_order: 1,
                hidden: true,
            },
        ],
        display_order: -1,
        calculated: false,
        external_options: false,
        has_unique_value: true,
        hidden: false,
        hubspot_defined: false,
        modification_metadata: PropertyModificationMetadata {
            archivable: true,
            read_only_definition: false,
            read_only_value: false,
        },
        form_field: true,
        archived: true,
    };
    assert_eq!(
        text(&property),
        concat!(
            r#"{"updatedAt":"u","createdAt":"c","archivedAt":"a","name":"n","label":"l","type":"enumeration","#,
            r#""fieldType":"select","description":"d","groupName":"g","options":[{"label":"A","value":"a","#,
            r#""description":"x","displayOrder":0,"hidden":false},{"label":"B","value":"b","displayOrder":1,"#,
            r#""hidden":true}],"displayOrder":-1,"calculated":false,"externalOptions":false,"hasUniqueValue":true,"#,
            r#""hidden":false,"hubspotDefined":false,"modificationMetadata":{"archivable":true,"#,
            r#""readOnlyDefinition":false,"readOnlyValue":false},"formField":true,"archived":true}"#
        )
    );
    let group = PropertyGroup {
        name: "g".into(),
        label: "G".into(),
        display_order: 2,
        archived: false,
    };
    let results = Results {
        results: vec![group],
    };
    assert_eq!(
        text(&results),
        r#"{"results":[{"name":"g","label":"G","displayOrder":2,"archived":false}]}"#
    );
    let option = OptionInput {
        label: "A".into(),
        value: "a".into(),
        description: None,
        display_order: None,
        hidden: false,
    };
    assert_eq!(
        text(&option),
        r#"{"label":"A","value":"a","displayOrder":null,"hidden":false}"#
    );
}

/// Every optional field of a request may be left out or sent as `null`; both read as absent.
#[test]
fn request_fields_may_be_missing_or_null() {
    let empty: PropertyCreate = parse("{}");
    assert!(empty.name.is_none() && empty.label.is_none() && empty.kind.is_none());
    assert!(empty.field_type.is_none() && empty.group_name.is_none());
    assert!(empty.description.is_none() && empty.options.is_none());
    assert!(empty.display_order.is_none() && empty.has_unique_value.is_none());
    assert!(empty.hidden.is_none() && empty.form_field.is_none());
    assert!(empty.external_options.is_none());
    let nulls: PropertyCreate = parse(
        r#"{"name":null,"label":null,"type":null,"fieldType":null,"groupName":null,"description":null,
            "options":null,"displayOrder":null,"hasUniqueValue":null,"hidden":null,"formField":null,
            "externalOptions":null}"#,
    );
    assert!(nulls.name.is_none() && nulls.kind.is_none() && nulls.external_options.is_none());
    let full: PropertyCreate = parse(
        r#"{"name":"n","label":"l","type":"string","fieldType":"text","groupName":"g","description":"d",
            "options":[{"label":"A","value":"a"}],"displayOrder":3,"hasUniqueValue":true,"hidden":false,
            "formField":true,"externalOptions":false}"#,
    );
    assert_eq!(full.name.as_deref(), Some("n"));
    assert_eq!(full.kind.as_deref(), Some("string"));
    assert_eq!(full.field_type.as_deref(), Some("text"));
    assert_eq!(full.group_name.as_deref(), Some("g"));
    assert_eq!(full.description.as_deref(), Some("d"));
    assert_eq!(full.display_order, Some(3));
    assert_eq!(full.has_unique_value, Some(true));
    assert_eq!(full.form_field, Some(true));
    assert_eq!(full.external_options, Some(false));
    let options = full.options.unwrap();
    assert_eq!(
        (
            options[0].display_order,
            options[0].hidden,
            &options[0].description
        ),
        (None, false, &None)
    );

    let update: PropertyUpdate = parse("{}");
    assert!(update.label.is_none() && update.kind.is_none() && update.field_type.is_none());
    assert!(update.group_name.is_none() && update.description.is_none());
    assert!(update.options.is_none() && update.display_order.is_none());
    assert!(update.hidden.is_none() && update.form_field.is_none());
    let update: PropertyUpdate = parse(
        r#"{"label":null,"type":"number","fieldType":null,"groupName":"g","description":null,
            "options":[],"displayOrder":null,"hidden":true,"formField":null,"name":5}"#,
    );
    assert_eq!(update.kind.as_deref(), Some("number"));
    assert_eq!(update.group_name.as_deref(), Some("g"));
    assert_eq!(update.options.map(|o| o.len()), Some(0));
    assert_eq!(update.hidden, Some(true));
    assert!(update.label.is_none() && update.display_order.is_none());

    let group: PropertyGroupCreate = parse("{}");
    assert!(group.name.is_none() && group.label.is_none() && group.display_order.is_none());
    let group: PropertyGroupUpdate = parse(r#"{"label":"L","displayOrder":null}"#);
    assert_eq!(group.label.as_deref(), Some("L"));
    assert!(group.display_order.is_none());
    let names: BatchReadPropertyNames = parse(r#"{"inputs":[{"name":"a"}]}"#);
    assert!(!names.archived);
    assert_eq!(names.inputs[0].name, "a");
    let _: PropertyName = parse(r#"{"name":"a"}"#);

    let label: LabelCreate = parse("{}");
    assert!(label.label.is_none() && label.name.is_none() && label.inverse_label.is_none());
    let label: LabelCreate = parse(r#"{"label":"L","name":"n","inverseLabel":"I"}"#);
    assert_eq!(
        (label.label.as_deref(), label.name.as_deref()),
        (Some("L"), Some("n"))
    );
    assert_eq!(label.inverse_label.as_deref(), Some("I"));
    let label: LabelUpdate = parse(r#"{"inverseLabel":null}"#);
    assert!(label.association_type_id.is_none() && label.label.is_none());
    assert!(label.inverse_label.is_none());
    let label: LabelUpdate = parse(r#"{"associationTypeId":1001,"label":"L"}"#);
    assert_eq!(label.association_type_id, Some(1001));

    let fetch: FetchRequest = parse(r#"{"id":1}"#);
    assert!(fetch.after.is_none());
    assert_eq!(fetch.id, json!(1));
    let fetch: FetchRequest = parse(r#"{"id":"1","after":"x"}"#);
    assert_eq!(fetch.after.as_deref(), Some("x"));
}

#[test]
fn object_requests_read_as_hubspots_clients_send_them() {
    let read: BatchReadInput = parse(r#"{"inputs":[{"id":"1"},{"id":2}]}"#);
    assert_eq!(read.inputs.len(), 2);
    assert_eq!(read.inputs[1].id, json!(2));
    assert!(read.properties.is_none() && read.properties_with_history.is_none());
    assert!(read.id_property.is_none());
    let read: BatchReadInput = parse(
        r#"{"inputs":[],"properties":["a"],"propertiesWithHistory":null,"idProperty":"email"}"#,
    );
    assert_eq!(read.properties, Some(vec!["a".to_owned()]));
    assert!(read.properties_with_history.is_none());
    assert_eq!(read.id_property.as_deref(), Some("email"));

    let create: SimplePublicObjectInputForCreate = parse("{}");
    assert!(create.properties.is_empty() && create.associations.is_empty());
    assert!(create.object_write_trace_id.is_none());
    let create: SimplePublicObjectInputForCreate = parse(
        r#"{"properties":{"n":1},"objectWriteTraceId":"t","associations":[
            {"to":{"id":"5"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]},
            {"to":{"id":6}}]}"#,
    );
    assert_eq!(create.properties["n"], json!(1));
    assert_eq!(create.object_write_trace_id.as_deref(), Some("t"));
    let links: &[PublicAssociationsForObject] = &create.associations;
    assert_eq!(links[0].to.id, json!("5"));
    let spec: &AssociationSpec = &links[0].types[0];
    assert_eq!(
        (spec.association_category.as_str(), spec.association_type_id),
        ("HUBSPOT_DEFINED", 279)
    );
    assert!(links[1].types.is_empty());

    let update: BatchInput<SimplePublicObjectBatchInput> = parse(
        r#"{"inputs":[{"id":"1"},{"id":"a@b.c","idProperty":"email","properties":{"x":"y"},"objectWriteTraceId":null}]}"#,
    );
    assert!(update.inputs[0].properties.is_empty());
    assert!(update.inputs[0].id_property.is_none());
    assert!(update.inputs[0].object_write_trace_id.is_none());
    assert_eq!(update.inputs[1].id_property.as_deref(), Some("email"));
    assert_eq!(update.inputs[1].properties["x"], json!("y"));
    let patch: SimplePublicObjectInput = parse("{}");
    assert!(patch.properties.is_empty());
    let ids: BatchInput<SimplePublicObjectId> = parse(r#"{"inputs":[{"id":3}]}"#);
    assert_eq!(ids.inputs[0].id, json!(3));

    let search: PublicObjectSearchRequest = parse("{}");
    assert!(search.filter_groups.is_empty() && search.filters.is_empty());
    assert!(search.sorts.is_empty() && search.query.is_none());
    assert!(search.properties.is_none() && search.limit.is_none() && search.after.is_none());
    let search: PublicObjectSearchRequest = parse(
        r#"{"filterGroups":[{"filters":[{"propertyName":"a","operator":"BETWEEN","value":1,"highValue":"2"}]},{}],
            "filters":[{"operator":"IN","values":["x",3]},{"propertyName":"b","value":null}],
            "sorts":[{"propertyName":"createdate"},{"propertyName":"x","direction":"DESCENDING"},"-createdate"],
            "query":"q","properties":["email"],"limit":"10","after":5}"#,
    );
    let first: &Filter = &search.filter_groups[0].filters[0];
    assert_eq!(first.property_name.as_deref(), Some("a"));
    assert_eq!(first.operator.as_deref(), Some("BETWEEN"));
    assert_eq!(
        (first.value.clone(), first.high_value.clone()),
        (Some(json!(1)), Some(json!("2")))
    );
    assert!(first.values.is_none());
    assert!(search.filter_groups[1].filters.is_empty());
    let bare = &search.filters[0];
    assert!(bare.property_name.is_none() && bare.value.is_none() && bare.high_value.is_none());
    assert_eq!(bare.values, Some(vec![json!("x"), json!(3)]));
    assert!(search.filters[1].value.is_none() && search.filters[1].operator.is_none());
    let sorts: Vec<(String, Option<String>)> = search
        .sorts
        .iter()
        .map(|s| match s {
            SortSpec::Object {
                property_name,
                direction,
            } => (property_name.clone(), direction.clone()),
            SortSpec::Name(n) => (n.clone(), None),
        })
        .collect();
    assert_eq!(
        sorts,
        [
            ("createdate".to_owned(), None),
            ("x".to_owned(), Some("DESCENDING".to_owned())),
            ("-createdate".to_owned(), None)
        ]
    );
    assert_eq!(search.query.as_deref(), Some("q"));
    assert_eq!(search.limit, Some(json!("10")));
    assert_eq!(search.after, Some(json!(5)));
}

#[test]
fn association_requests_take_ids_as_strings_or_numbers() {
    let post: BatchInput<AssociationMultiPost> = parse(
        r#"{"inputs":[{"from":{"id":"1"},"to":{"id":2},"types":[{"associationCategory":"USER_DEFINED","associationTypeId":1001}]},
            {"from":{"id":3},"to":{"id":"4"}}]}"#,
    );
    assert_eq!(
        (post.inputs[0].from.id.clone(), post.inputs[0].to.id.clone()),
        (json!("1"), json!(2))
    );
    assert_eq!(post.inputs[0].types[0].association_type_id, 1001);
    assert!(post.inputs[1].types.is_empty());
    let default: DefaultAssociationPost = parse(r#"{"from":{"id":1},"to":{"id":"2"}}"#);
    assert_eq!((default.from.id, default.to.id), (json!(1), json!("2")));
    let archive: AssociationMultiArchive = parse(r#"{"from":{"id":1},"to":[{"id":"2"},{"id":3}]}"#);
    let to: Vec<Value> = archive.to.into_iter().map(|t| t.id).collect();
    assert_eq!(to, [json!("2"), json!(3)]);
    let id: PublicObjectIdIn = parse(r#"{"id":"7"}"#);
    assert_eq!(id.id, json!("7"));
    let specs: Vec<AssociationSpec> =
        parse(r#"[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":1}]"#);
    assert_eq!(
        specs,
        [AssociationSpec {
            association_category: "HUBSPOT_DEFINED".into(),
            association_type_id: 1
        }]
    );
}

/// A missing required field and a wrong type are reported as serde words them; the server
/// puts these messages on the wire.
#[test]
fn malformed_requests_fail_with_serdes_message() {
    let err = |json: &str, what: fn(&str) -> Result<(), serde_json::Error>| {
        what(json).unwrap_err().to_string()
    };
    assert_eq!(
        err(r#"{"label":5}"#, |j| {
            serde_json::from_str::<PropertyCreate>(j).map(drop)
        }),
        "invalid type: integer `5`, expected a string at line 1 column 10"
    );
    assert_eq!(
        err(r#"{"inputs":[{}]}"#, |j| serde_json::from_str::<
            BatchReadInput,
        >(j)
        .map(drop)),
        "missing field `id` at line 1 column 13"
    );
    assert_eq!(
        err(r#"{"inputs":[{"to":{"id":1}}]}"#, |j| {
            serde_json::from_str::<BatchInput<AssociationMultiPost>>(j).map(drop)
        }),
        "missing field `from` at line 1 column 26"
    );
    assert_eq!(
        err(r#"{"sorts":[5]}"#, |j| serde_json::from_str::<
            PublicObjectSearchRequest,
        >(j)
        .map(drop)),
        "data did not match any variant of untagged enum SortSpec at line 1 column 12"
    );
}

#[test]
fn legacy_records_serialize_with_numbers_and_their_paging_keys() {
    use spoke_types::legacy::{
        CompaniesPage, CompanyV2, DealAssociations, DealV1, DealsPage, LegacyValue, LegacyVersion,
    };
    let version = |source_id: Option<&str>| LegacyVersion {
        name: "name".into(),
        value: "Acme".into(),
        timestamp: 1457708103847,
        source: "API".into(),
        source_id: source_id.map(str::to_owned),
        source_vid: Vec::new(),
    };
    let value = LegacyValue {
        value: "Acme".into(),
        timestamp: 1457708103847,
        source: "API".into(),
        source_id: None,
        versions: vec![version(None), version(Some("x"))],
    };
    let properties = BTreeMap::from([("name".to_owned(), value)]);
    let company = CompanyV2 {
        portal_id: 62515,
        company_id: 115200636,
        is_deleted: false,
        properties: properties.clone(),
        additional_domains: Vec::new(),
        state_changes: None,
        merge_audits: None,
    };
    let page = CompaniesPage {
        companies: vec![company],
        has_more: true,
        offset: 115200636,
    };
    assert_eq!(
        text(&page),
        r#"{"companies":[{"portalId":62515,"companyId":115200636,"isDeleted":false,"properties":{"name":{"value":"Acme","timestamp":1457708103847,"source":"API","sourceId":null,"versions":[{"name":"name","value":"Acme","timestamp":1457708103847,"source":"API","sourceVid":[]},{"name":"name","value":"Acme","timestamp":1457708103847,"source":"API","sourceId":"x","sourceVid":[]}]}},"additionalDomains":[]}],"has-more":true,"offset":115200636}"#
    );
    let deals = DealsPage {
        deals: vec![DealV1 {
            portal_id: 1,
            deal_id: 2,
            is_deleted: false,
            associations: Some(DealAssociations {
                associated_vids: vec![3],
                ..DealAssociations::default()
            }),
            properties: BTreeMap::new(),
            imports: Vec::new(),
            state_changes: Vec::new(),
        }],
        has_more: false,
        offset: 2,
    };
    assert_eq!(
        text(&deals),
        r#"{"deals":[{"portalId":1,"dealId":2,"isDeleted":false,"associations":{"associatedVids":[3],"associatedCompanyIds":[],"associatedDealIds":[],"associatedTicketIds":[]},"properties":{},"imports":[],"stateChanges":[]}],"hasMore":false,"offset":2}"#
    );
}

#[test]
fn directory_types() {
    use spoke_types::directory::{PublicOwner, PublicOwnerTeam, PublicUser, UserProvisionRequest};
    let mut owner = PublicOwner {
        id: "40000002".into(),
        email: "a@b.test".into(),
        owner_type: "PERSON",
        first_name: "A".into(),
        last_name: String::new(),
        user_id: Some(1000002),
        user_id_including_inactive: 1000002,
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-01T00:00:00.5Z".into(),
        archived: false,
        teams: Vec::new(),
    };
    assert_eq!(
        text(&owner),
        r#"{"id":"40000002","email":"a@b.test","type":"PERSON","firstName":"A","lastName":"","userId":1000002,"userIdIncludingInactive":1000002,"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00.5Z","archived":false}"#
    );
    owner.user_id = None;
    owner.archived = true;
    owner.teams = vec![PublicOwnerTeam {
        id: "360001".into(),
        name: "Sales Team".into(),
        primary: true,
    }];
    assert_eq!(
        text(&owner),
        r#"{"id":"40000002","email":"a@b.test","type":"PERSON","firstName":"A","lastName":"","userIdIncludingInactive":1000002,"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00.5Z","archived":true,"teams":[{"id":"360001","name":"Sales Team","primary":true}]}"#
    );
    let user = PublicUser {
        id: "1000002".into(),
        email: "a@b.test".into(),
        first_name: None,
        last_name: None,
        role_ids: Vec::new(),
        role_id: None,
        primary_team_id: None,
        secondary_team_ids: Vec::new(),
        seat_names: Vec::new(),
        send_welcome_email: false,
        super_admin: true,
    };
    assert_eq!(
        text(&user),
        r#"{"id":"1000002","email":"a@b.test","roleIds":[],"sendWelcomeEmail":false,"superAdmin":true}"#
    );
    let req: UserProvisionRequest =
        parse(r#"{"email":"a@b.test","roleId":null,"secondaryTeamIds":["1",2]}"#);
    assert_eq!(req.email, Some(json!("a@b.test")));
    assert!(req.role_id.is_none() && req.send_welcome_email.is_none());
    assert_eq!(req.secondary_team_ids, Some(vec![json!("1"), json!(2)]));
}

#[test]
fn custom_object_schema_types() {
    use spoke_types::schemas::{
        AssociationDefinition, Labels, ObjectSchema, ObjectSchemaEgg, ObjectTypeDefinition,
        ObjectTypeDefinitionPatch,
    };
    let labels = Labels {
        singular: Some("Therapist Address".into()),
        plural: Some("Therapist Addresses".into()),
    };
    let assoc = AssociationDefinition {
        id: "1001".into(),
        from_object_type_id: "2-30753436".into(),
        to_object_type_id: "0-1".into(),
        name: "therapist_addresses_to_contact".into(),
        created_at: None,
        updated_at: None,
    };
    let schema = ObjectSchema {
        labels: labels.clone(),
        required_properties: vec!["therapist_name".into()],
        searchable_properties: vec!["therapist_name".into(), "state".into()],
        primary_display_property: Some("therapist_name".into()),
        secondary_display_properties: vec!["state".into()],
        description: String::new(),
        archived: false,
        restorable: true,
        allows_sensitive_properties: false,
        meta_type: "PORTAL_SPECIFIC",
        id: "30753436".into(),
        fully_qualified_name: "p23451017_therapist_addresses".into(),
        created_at: Some("2024-05-30T00:20:28.745Z".into()),
        updated_at: Some("2024-05-30T00:20:30.248Z".into()),
        created_by_user_id: Some(7007108),
        updated_by_user_id: None,
        object_type_id: "2-30753436".into(),
        properties: vec![],
        associations: vec![assoc],
        name: "therapist_addresses".into(),
    };
    // The captured element's key order (hubspot-behavior-apps.md §40.4), with the spec's
    // allowsSensitiveProperties after restorable.
    assert_eq!(
        text(&schema),
        r#"{"labels":{"singular":"Therapist Address","plural":"Therapist Addresses"},"requiredProperties":["therapist_name"],"searchableProperties":["therapist_name","state"],"primaryDisplayProperty":"therapist_name","secondaryDisplayProperties":["state"],"description":"","archived":false,"restorable":true,"allowsSensitiveProperties":false,"metaType":"PORTAL_SPECIFIC","id":"30753436","fullyQualifiedName":"p23451017_therapist_addresses","createdAt":"2024-05-30T00:20:28.745Z","updatedAt":"2024-05-30T00:20:30.248Z","createdByUserId":7007108,"objectTypeId":"2-30753436","properties":[],"associations":[{"id":"1001","fromObjectTypeId":"2-30753436","toObjectTypeId":"0-1","name":"therapist_addresses_to_contact"}],"name":"therapist_addresses"}"#
    );
    let definition = ObjectTypeDefinition {
        id: "3465404".into(),
        created_at: "2020-02-23T01:24:54.537Z".into(),
        updated_at: "2020-02-23T02:12:24.175Z".into(),
        labels,
        required_properties: vec![],
        searchable_properties: vec![],
        primary_display_property: None,
        secondary_display_properties: vec![],
        portal_id: 1234,
        fully_qualified_name: "p1234_car".into(),
        object_type_id: "2-3465404".into(),
        archived: false,
        description: "d".into(),
        allows_sensitive_properties: true,
        name: "car".into(),
    };
    assert_eq!(
        text(&definition),
        r#"{"id":"3465404","createdAt":"2020-02-23T01:24:54.537Z","updatedAt":"2020-02-23T02:12:24.175Z","labels":{"singular":"Therapist Address","plural":"Therapist Addresses"},"requiredProperties":[],"searchableProperties":[],"secondaryDisplayProperties":[],"portalId":1234,"fullyQualifiedName":"p1234_car","objectTypeId":"2-3465404","archived":false,"description":"d","allowsSensitiveProperties":true,"name":"car"}"#
    );
    // The guide's spelling of the sensitive flag, and a property without type or fieldType.
    let egg: ObjectSchemaEgg = parse(
        r#"{"name":"cars","labels":{"singular":"Car"},"allowSensitiveProperties":true,"metaType":"PORTAL_SPECIFIC","properties":[{"name":"model","label":"Model","isPrimaryDisplayLabel":true}],"requiredProperties":[],"associatedObjects":["CONTACT"]}"#,
    );
    assert_eq!(egg.allows_sensitive_properties, Some(true));
    assert_eq!(egg.labels.and_then(|l| l.plural), None);
    let props = egg.properties.unwrap_or_default();
    assert_eq!((props.len(), props[0].kind.clone()), (1, None));
    let patch: ObjectTypeDefinitionPatch = parse(r#"{"clearDescription":true,"labels":null}"#);
    assert_eq!((patch.clear_description, patch.labels), (Some(true), None));
}
