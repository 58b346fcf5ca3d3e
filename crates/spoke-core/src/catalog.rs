//! The built-in object types and their HubSpot-defined properties.
//!
//! Ids, names and object scopes follow hubspot-behavior.md §4.1/§4.2; the scopes of
//! property definitions and pipelines are alternatives HubSpot's properties and pipelines
//! specs list (docs/compatibility.md says which stands for which type). HubSpot publishes no
//! objectTypeId for partner clients, partner services and deal splits; spoke uses `0-1500`,
//! `0-1501` and `0-1502` (docs/compatibility.md), and always accepts their names.

use std::sync::{Arc, LazyLock};

use crate::object_type::{
    from_parts, DefaultPipeline, DefaultStage, ObjectType, Parts, Pipelined, TypeRef,
};
use crate::property::{PropertyDefinition, PropertyOption, PropertyType};

/// The default properties of HubSpot's newer types and of every custom type (§1.4).
pub(crate) const CUSTOM_DEFAULTS: &[&str] =
    &["hs_createdate", "hs_lastmodifieddate", "hs_object_id"];

/// Every standard type, built once from [`STANDARD`] with its properties.
static STANDARD_TYPES: LazyLock<Vec<TypeRef>> = LazyLock::new(|| {
    STANDARD
        .iter()
        .map(|parts| Arc::new(standard(parts)))
        .collect()
});

static FORMS_TYPE: LazyLock<TypeRef> = LazyLock::new(|| Arc::new(standard(&FORMS)));

fn standard(parts: &Parts) -> ObjectType {
    let ty = from_parts(parts);
    let properties = build(&ty);
    ty.with_properties(properties)
}

/// The standard types spoke serves records of.
pub fn standard_types() -> &'static [TypeRef] {
    &STANDARD_TYPES
}

/// HubSpot's forms object (see [`FORMS`]).
pub fn forms() -> TypeRef {
    FORMS_TYPE.clone()
}

const fn stage(
    id: &'static str,
    label: &'static str,
    metadata: &'static [(&'static str, &'static str)],
) -> DefaultStage {
    DefaultStage {
        id,
        label,
        metadata,
    }
}

const OPEN: &[(&str, &str)] = &[("isClosed", "false"), ("ticketState", "OPEN")];

/// Deals: `pipeline` and `dealstage`, stages with a required probability.
const DEAL_PIPELINES: Pipelined = Pipelined {
    pipeline_property: "pipeline",
    stage_property: "dealstage",
    probability: true,
    ticket_state: false,
    max_stages: 100,
    // As captured (hubspot-behavior-platform.md §23.3); timestamps are epoch 0 and display
    // orders positions.
    default: DefaultPipeline {
        id: "default",
        label: "Sales Pipeline",
        stages: &[
            stage(
                "appointmentscheduled",
                "Appointment Scheduled",
                &[("isClosed", "false"), ("probability", "0.2")],
            ),
            stage(
                "qualifiedtobuy",
                "Qualified To Buy",
                &[("isClosed", "false"), ("probability", "0.4")],
            ),
            stage(
                "presentationscheduled",
                "Presentation Scheduled",
                &[("isClosed", "false"), ("probability", "0.6")],
            ),
            stage(
                "decisionmakerboughtin",
                "Decision Maker Bought-In",
                &[("isClosed", "false"), ("probability", "0.8")],
            ),
            stage(
                "contractsent",
                "Contract Sent",
                &[("isClosed", "false"), ("probability", "0.9")],
            ),
            stage(
                "closedwon",
                "Closed Won",
                &[("isClosed", "true"), ("probability", "1.0")],
            ),
            stage(
                "closedlost",
                "Closed Lost",
                &[("isClosed", "true"), ("probability", "0.0")],
            ),
        ],
    },
};

/// Tickets: `hs_pipeline` and `hs_pipeline_stage`, stages with an optional ticket state.
const TICKET_PIPELINES: Pipelined = Pipelined {
    pipeline_property: "hs_pipeline",
    stage_property: "hs_pipeline_stage",
    probability: false,
    ticket_state: true,
    max_stages: 100,
    // As third-party fixtures agree (§23.4; its metadata is spoke's decision,
    // docs/compatibility.md).
    default: DefaultPipeline {
        id: "0",
        label: "Support Pipeline",
        stages: &[
            stage("1", "New", OPEN),
            stage("2", "Waiting on contact", OPEN),
            stage("3", "Waiting on us", OPEN),
            stage(
                "4",
                "Closed",
                &[("isClosed", "true"), ("ticketState", "CLOSED")],
            ),
        ],
    },
};

/// HubSpot's forms object (`0-28`): not a CRM object spoke serves records of (the forms APIs
/// are not emulated), but Airbyte reads its definitions from the legacy property listing
/// `/properties/v2/form/properties` before anything else (docs/compatibility.md). Kept out
/// of [`STANDARD`] so that no objects, search or associations path resolves it.
const FORMS: Parts = Parts {
    id: "0-28",
    name: "forms",
    singular: "form",
    upper: "FORM",
    read_scopes: &[],
    write_scopes: &[],
    createdate_property: "hs_createdate",
    modified_property: "hs_lastmodifieddate",
    default_properties: CUSTOM_DEFAULTS,
    public_create: false,
    required_on_create: &[],
    text_search_properties: &[],
    unique_properties: &[],
    read_only: true,
    schema_read_scopes: &["crm.schemas.contacts.read", "crm.objects.contacts.read"],
    schema_write_scopes: &[],
    pipelines: None,
    associated_with_custom_objects: false,
};

/// HubSpot's standard types: one entry each, every per-type fact a field.
const STANDARD: &[Parts] = &[
    Parts {
        id: "0-1",
        name: "contacts",
        singular: "contact",
        upper: "CONTACT",
        read_scopes: &["crm.objects.contacts.read"],
        write_scopes: &["crm.objects.contacts.write"],
        createdate_property: "createdate",
        modified_property: "lastmodifieddate",
        default_properties: &[
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname",
        ],
        public_create: true,
        required_on_create: &[],
        text_search_properties: &[
            "firstname",
            "lastname",
            "email",
            "phone",
            "company",
            "mobilephone",
        ],
        // HubSpot enforces one contact per email (hubspot-behavior.md §1.7); stored values
        // are lowercased emails.
        unique_properties: &[("email", Some("Contact already exists."), true)],
        read_only: false,
        schema_read_scopes: &["crm.schemas.contacts.read", "crm.objects.contacts.read"],
        schema_write_scopes: &["crm.schemas.contacts.write"],
        pipelines: None,
        associated_with_custom_objects: false,
    },
    Parts {
        id: "0-2",
        name: "companies",
        singular: "company",
        upper: "COMPANY",
        read_scopes: &["crm.objects.companies.read"],
        write_scopes: &["crm.objects.companies.write"],
        createdate_property: "createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: &[
            "createdate",
            "domain",
            "hs_lastmodifieddate",
            "hs_object_id",
            "name",
        ],
        public_create: true,
        required_on_create: &[],
        text_search_properties: &["name", "domain", "website", "phone"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &["crm.schemas.companies.read", "crm.objects.companies.read"],
        schema_write_scopes: &["crm.schemas.companies.write"],
        pipelines: None,
        associated_with_custom_objects: false,
    },
    Parts {
        id: "0-3",
        name: "deals",
        singular: "deal",
        upper: "DEAL",
        read_scopes: &["crm.objects.deals.read"],
        write_scopes: &["crm.objects.deals.write"],
        createdate_property: "createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: &[
            "amount",
            "closedate",
            "createdate",
            "dealname",
            "dealstage",
            "hs_lastmodifieddate",
            "hs_object_id",
            "pipeline",
        ],
        public_create: true,
        required_on_create: &[],
        text_search_properties: &["dealname", "description"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &["crm.schemas.deals.read", "crm.objects.deals.read"],
        schema_write_scopes: &["crm.schemas.deals.write"],
        pipelines: Some(DEAL_PIPELINES),
        associated_with_custom_objects: false,
    },
    Parts {
        id: "0-5",
        name: "tickets",
        singular: "ticket",
        upper: "TICKET",
        read_scopes: &["tickets"],
        write_scopes: &["tickets"],
        createdate_property: "createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: &[
            "content",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
            "hs_pipeline",
            "hs_pipeline_stage",
            "hs_ticket_category",
            "hs_ticket_priority",
            "subject",
        ],
        public_create: true,
        required_on_create: &[],
        text_search_properties: &["subject", "content"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &["crm.schemas.tickets.read", "tickets"],
        schema_write_scopes: &["crm.schemas.tickets.write", "tickets"],
        pipelines: Some(TICKET_PIPELINES),
        associated_with_custom_objects: false,
    },
    Parts {
        id: "0-7",
        name: "products",
        singular: "product",
        upper: "PRODUCT",
        read_scopes: &["crm.objects.products.read", "e-commerce"],
        write_scopes: &["crm.objects.products.write", "e-commerce"],
        createdate_property: "createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: &[
            "createdate",
            "description",
            "hs_lastmodifieddate",
            "hs_object_id",
            "name",
            "price",
        ],
        public_create: true,
        required_on_create: &[],
        text_search_properties: &["name", "description", "hs_sku"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &["e-commerce"],
        schema_write_scopes: &["e-commerce"],
        pipelines: None,
        associated_with_custom_objects: false,
    },
    Parts {
        id: "0-8",
        name: "line_items",
        singular: "line_item",
        upper: "LINE_ITEM",
        read_scopes: &["crm.objects.line_items.read", "e-commerce"],
        write_scopes: &["crm.objects.line_items.write", "e-commerce"],
        createdate_property: "createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: &[
            "amount",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
            "price",
            "quantity",
        ],
        public_create: true,
        required_on_create: &[],
        text_search_properties: &["name", "description", "hs_sku"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &[
            "crm.schemas.line_items.read",
            "crm.objects.line_items.read",
            "e-commerce",
        ],
        schema_write_scopes: &["e-commerce"],
        pipelines: None,
        associated_with_custom_objects: false,
    },
    Parts {
        id: "0-420",
        name: "listings",
        singular: "listing",
        upper: "LISTING",
        read_scopes: &["crm.objects.listings.read"],
        write_scopes: &["crm.objects.listings.write"],
        createdate_property: "hs_createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: CUSTOM_DEFAULTS,
        public_create: true,
        required_on_create: &[],
        text_search_properties: &["hs_name", "hs_address_1", "hs_city"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &["crm.schemas.listings.read", "crm.objects.listings.read"],
        schema_write_scopes: &["crm.schemas.listings.write"],
        pipelines: None,
        associated_with_custom_objects: false,
    },
    Parts {
        id: "0-1500",
        name: "partner_clients",
        singular: "partner_client",
        upper: "PARTNER_CLIENT",
        read_scopes: &["crm.objects.partner-clients.read"],
        write_scopes: &["crm.objects.partner-clients.write"],
        createdate_property: "hs_createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: CUSTOM_DEFAULTS,
        public_create: false,
        required_on_create: &[],
        text_search_properties: &["hs_name"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &["crm.schemas.custom.read", "crm.objects.custom.read"],
        schema_write_scopes: &["crm.schemas.custom.write"],
        pipelines: None,
        associated_with_custom_objects: false,
    },
    Parts {
        id: "0-1501",
        name: "partner_services",
        singular: "partner_service",
        upper: "PARTNER_SERVICE",
        read_scopes: &["crm.objects.partner-services.read"],
        write_scopes: &["crm.objects.partner-services.write"],
        createdate_property: "hs_createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: CUSTOM_DEFAULTS,
        public_create: false,
        required_on_create: &[],
        text_search_properties: &["hs_name"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &["crm.schemas.custom.read", "crm.objects.custom.read"],
        schema_write_scopes: &["crm.schemas.custom.write"],
        pipelines: None,
        associated_with_custom_objects: false,
    },
    // Engagements and the other types connectors sync (hubspot-behavior-platform.md §24;
    // docs/compatibility.md, "Engagements and other object types").
    Parts {
        id: "0-48",
        name: "calls",
        singular: "call",
        upper: "CALL",
        read_scopes: &["crm.objects.contacts.read"],
        write_scopes: &["crm.objects.contacts.write"],
        createdate_property: "hs_createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: CUSTOM_DEFAULTS,
        public_create: true,
        required_on_create: &["hs_timestamp"],
        text_search_properties: &["hs_call_title", "hs_call_body"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &[
            "crm.schemas.calls.read",
            "crm.objects.calls.read",
            "crm.schemas.contacts.read",
            "crm.objects.contacts.read",
        ],
        schema_write_scopes: &["crm.schemas.contacts.write"],
        pipelines: None,
        associated_with_custom_objects: true,
    },
    Parts {
        id: "0-49",
        name: "emails",
        singular: "email",
        upper: "EMAIL",
        read_scopes: &["crm.objects.contacts.read", "sales-email-read"],
        write_scopes: &["crm.objects.contacts.write", "sales-email-read"],
        createdate_property: "hs_createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: CUSTOM_DEFAULTS,
        public_create: true,
        required_on_create: &["hs_timestamp"],
        text_search_properties: &["hs_email_subject", "hs_email_text"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &[
            "crm.schemas.emails.read",
            "crm.objects.emails.read",
            "crm.schemas.contacts.read",
            "crm.objects.contacts.read",
        ],
        schema_write_scopes: &["crm.schemas.contacts.write"],
        pipelines: None,
        associated_with_custom_objects: true,
    },
    Parts {
        id: "0-47",
        name: "meetings",
        singular: "meeting",
        upper: "MEETING",
        read_scopes: &["crm.objects.contacts.read"],
        write_scopes: &["crm.objects.contacts.write"],
        createdate_property: "hs_createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: CUSTOM_DEFAULTS,
        public_create: true,
        required_on_create: &["hs_timestamp"],
        text_search_properties: &["hs_meeting_title", "hs_meeting_body"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &[
            "crm.schemas.meetings.read",
            "crm.objects.meetings.read",
            "crm.schemas.contacts.read",
            "crm.objects.contacts.read",
        ],
        schema_write_scopes: &["crm.schemas.contacts.write"],
        pipelines: None,
        associated_with_custom_objects: true,
    },
    Parts {
        id: "0-46",
        name: "notes",
        singular: "note",
        upper: "NOTE",
        read_scopes: &["crm.objects.contacts.read"],
        write_scopes: &["crm.objects.contacts.write"],
        createdate_property: "hs_createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: CUSTOM_DEFAULTS,
        public_create: true,
        required_on_create: &["hs_timestamp"],
        text_search_properties: &["hs_note_body"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &[
            "crm.schemas.notes.read",
            "crm.objects.notes.read",
            "crm.schemas.contacts.read",
            "crm.objects.contacts.read",
        ],
        schema_write_scopes: &["crm.schemas.contacts.write"],
        pipelines: None,
        associated_with_custom_objects: true,
    },
    Parts {
        id: "0-27",
        name: "tasks",
        singular: "task",
        upper: "TASK",
        read_scopes: &["crm.objects.contacts.read"],
        write_scopes: &["crm.objects.contacts.write"],
        createdate_property: "hs_createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: CUSTOM_DEFAULTS,
        public_create: true,
        required_on_create: &["hs_timestamp"],
        text_search_properties: &["hs_task_subject", "hs_task_body"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &[
            "crm.schemas.tasks.read",
            "crm.objects.tasks.read",
            "crm.schemas.contacts.read",
            "crm.objects.contacts.read",
        ],
        schema_write_scopes: &["crm.schemas.contacts.write"],
        pipelines: None,
        associated_with_custom_objects: true,
    },
    Parts {
        id: "0-18",
        name: "communications",
        singular: "communication",
        upper: "COMMUNICATION",
        read_scopes: &["crm.objects.contacts.read"],
        write_scopes: &["crm.objects.contacts.write"],
        createdate_property: "hs_createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: CUSTOM_DEFAULTS,
        public_create: true,
        required_on_create: &["hs_timestamp"],
        text_search_properties: &["hs_communication_body"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &["crm.schemas.contacts.read", "crm.objects.contacts.read"],
        schema_write_scopes: &["crm.schemas.contacts.write"],
        pipelines: None,
        associated_with_custom_objects: true,
    },
    Parts {
        id: "0-116",
        name: "postal_mail",
        singular: "postal_mail",
        upper: "POSTAL_MAIL",
        read_scopes: &["crm.objects.contacts.read"],
        write_scopes: &["crm.objects.contacts.write"],
        createdate_property: "hs_createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: CUSTOM_DEFAULTS,
        public_create: true,
        required_on_create: &["hs_timestamp"],
        text_search_properties: &["hs_postal_mail_body"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &["crm.schemas.contacts.read", "crm.objects.contacts.read"],
        schema_write_scopes: &["crm.schemas.contacts.write"],
        pipelines: None,
        associated_with_custom_objects: false,
    },
    Parts {
        id: "0-14",
        name: "quotes",
        singular: "quote",
        upper: "QUOTE",
        read_scopes: &["crm.objects.quotes.read", "e-commerce"],
        write_scopes: &["crm.objects.quotes.write", "e-commerce"],
        createdate_property: "hs_createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: &[
            "hs_createdate",
            "hs_expiration_date",
            "hs_lastmodifieddate",
            "hs_object_id",
            "hs_public_url_key",
            "hs_status",
            "hs_title",
        ],
        public_create: true,
        required_on_create: &["hs_title", "hs_expiration_date"],
        text_search_properties: &["hs_title"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &[
            "crm.schemas.quotes.read",
            "crm.objects.quotes.read",
            "e-commerce",
        ],
        schema_write_scopes: &["crm.schemas.quotes.write", "e-commerce"],
        pipelines: None,
        associated_with_custom_objects: false,
    },
    Parts {
        id: "0-136",
        name: "leads",
        singular: "lead",
        upper: "LEAD",
        read_scopes: &["crm.objects.leads.read"],
        write_scopes: &["crm.objects.leads.write"],
        createdate_property: "hs_createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: CUSTOM_DEFAULTS,
        public_create: true,
        required_on_create: &["hs_lead_name"],
        text_search_properties: &["hs_lead_name"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &["crm.objects.leads.read"],
        schema_write_scopes: &["crm.schemas.contacts.write"],
        pipelines: None,
        associated_with_custom_objects: false,
    },
    Parts {
        id: "0-74",
        name: "goal_targets",
        singular: "goal_target",
        upper: "GOAL_TARGET",
        read_scopes: &["crm.objects.goals.read"],
        write_scopes: &["crm.objects.goals.write"],
        createdate_property: "hs_createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: CUSTOM_DEFAULTS,
        public_create: true,
        required_on_create: &[],
        text_search_properties: &["hs_goal_name"],
        unique_properties: &[],
        read_only: false,
        schema_read_scopes: &["crm.objects.goals.read"],
        schema_write_scopes: &["crm.schemas.contacts.write"],
        pipelines: None,
        associated_with_custom_objects: false,
    },
    Parts {
        id: "0-19",
        name: "feedback_submissions",
        singular: "feedback_submission",
        upper: "FEEDBACK_SUBMISSION",
        read_scopes: &[
            "crm.objects.contacts.read",
            "crm.objects.feedback_submissions.read",
        ],
        write_scopes: &["crm.objects.contacts.write"],
        createdate_property: "hs_createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: CUSTOM_DEFAULTS,
        public_create: false,
        required_on_create: &[],
        text_search_properties: &["hs_content"],
        unique_properties: &[],
        read_only: true,
        schema_read_scopes: &[
            "crm.objects.feedback_submissions.read",
            "crm.objects.contacts.read",
        ],
        schema_write_scopes: &["crm.schemas.contacts.write"],
        pipelines: None,
        associated_with_custom_objects: false,
    },
    Parts {
        id: "0-1502",
        name: "deal_splits",
        singular: "deal_split",
        upper: "DEAL_SPLIT",
        read_scopes: &["crm.dealsplits.read_write"],
        write_scopes: &["crm.dealsplits.read_write"],
        createdate_property: "hs_createdate",
        modified_property: "hs_lastmodifieddate",
        default_properties: CUSTOM_DEFAULTS,
        public_create: false,
        required_on_create: &[],
        text_search_properties: &[],
        unique_properties: &[],
        read_only: true,
        schema_read_scopes: &["crm.schemas.deals.read", "crm.objects.deals.read"],
        schema_write_scopes: &["crm.schemas.deals.write"],
        pipelines: None,
        associated_with_custom_objects: false,
    },
];

/// One built-in property: name, label, type, field type.
struct P(&'static str, &'static str, PropertyType, &'static str);

use PropertyType::{Bool, Date, Datetime, Enumeration as Enum, Number, String as Str};

/// Properties every type has, computed from the record (read-only), in the type's
/// information group ([`info_group`]).
const SYSTEM: &[P] = &[
    P("hs_object_id", "Record ID", Number, "number"),
    P("hs_createdate", "Object create date/time", Datetime, "date"),
    P(
        "hs_lastmodifieddate",
        "Object last modified date/time",
        Datetime,
        "date",
    ),
];

/// A built-in type's own properties, in HubSpot's display order, and the group they are in
/// unless [`OTHER_GROUP`] says otherwise.
struct Own {
    type_id: &'static str,
    group: &'static str,
    properties: &'static [P],
}

/// Own properties HubSpot puts in another group than their type's: (type id, name, group).
const OTHER_GROUP: &[(&str, &str, &str)] = &[("0-1", "hs_lead_status", "sales_properties")];

const OWN: &[Own] = &[
    Own {
        type_id: "0-1",
        group: "contactinformation",
        properties: &[
            P("createdate", "Create Date", Datetime, "date"),
            P("lastmodifieddate", "Last Modified Date", Datetime, "date"),
            P("email", "Email", Str, "text"),
            P("firstname", "First Name", Str, "text"),
            P("lastname", "Last Name", Str, "text"),
            P("phone", "Phone Number", Str, "phonenumber"),
            P("mobilephone", "Mobile Phone Number", Str, "phonenumber"),
            P("company", "Company Name", Str, "text"),
            P("website", "Website URL", Str, "text"),
            P("jobtitle", "Job Title", Str, "text"),
            P("address", "Street Address", Str, "text"),
            P("city", "City", Str, "text"),
            P("state", "State/Region", Str, "text"),
            P("zip", "Postal Code", Str, "text"),
            P("country", "Country/Region", Str, "text"),
            P("lifecyclestage", "Lifecycle Stage", Enum, "radio"),
            P("hs_lead_status", "Lead Status", Enum, "radio"),
            P("hubspot_owner_id", "Contact owner", Enum, "select"),
            P("message", "Message", Str, "textarea"),
            P("date_of_birth", "Date of birth", Str, "text"),
            P("hs_email_domain", "Email Domain", Str, "text"),
        ],
    },
    Own {
        type_id: "0-2",
        group: "companyinformation",
        properties: &[
            P("createdate", "Create Date", Datetime, "date"),
            P("name", "Company name", Str, "text"),
            P("domain", "Company Domain Name", Str, "text"),
            P("website", "Website URL", Str, "text"),
            P("phone", "Phone Number", Str, "phonenumber"),
            P("address", "Street Address", Str, "text"),
            P("city", "City", Str, "text"),
            P("state", "State/Region", Str, "text"),
            P("zip", "Postal Code", Str, "text"),
            P("country", "Country/Region", Str, "text"),
            P("industry", "Industry", Str, "text"),
            P("description", "Description", Str, "textarea"),
            P("numberofemployees", "Number of Employees", Number, "number"),
            P("annualrevenue", "Annual Revenue", Number, "number"),
            P("lifecyclestage", "Lifecycle Stage", Enum, "radio"),
            P("hubspot_owner_id", "Company owner", Enum, "select"),
        ],
    },
    Own {
        type_id: "0-3",
        group: "dealinformation",
        properties: &[
            P("createdate", "Create Date", Datetime, "date"),
            P("dealname", "Deal Name", Str, "text"),
            P("amount", "Amount", Number, "number"),
            P("dealstage", "Deal Stage", Enum, "radio"),
            P("pipeline", "Pipeline", Enum, "select"),
            P("closedate", "Close Date", Datetime, "date"),
            P("dealtype", "Deal Type", Enum, "radio"),
            P("description", "Deal Description", Str, "textarea"),
            P("hs_priority", "Priority", Enum, "select"),
            P("hubspot_owner_id", "Deal owner", Enum, "select"),
        ],
    },
    Own {
        type_id: "0-5",
        group: "ticketinformation",
        properties: &[
            P("createdate", "Create date", Datetime, "date"),
            P("subject", "Ticket name", Str, "text"),
            P("content", "Ticket description", Str, "textarea"),
            P("hs_pipeline", "Pipeline", Enum, "select"),
            P("hs_pipeline_stage", "Ticket status", Enum, "select"),
            P("hs_ticket_category", "Category", Enum, "checkbox"),
            P("hs_ticket_priority", "Priority", Enum, "select"),
            P("source_type", "Source", Enum, "select"),
            P("hubspot_owner_id", "Ticket owner", Enum, "select"),
        ],
    },
    Own {
        type_id: "0-7",
        group: "productinformation",
        properties: &[
            P("createdate", "Create Date", Datetime, "date"),
            P("name", "Name", Str, "text"),
            P("description", "Description", Str, "textarea"),
            P("price", "Unit price", Number, "number"),
            P("hs_sku", "SKU", Str, "text"),
            P("hs_cost_of_goods_sold", "Unit cost", Number, "number"),
            P("hs_recurring_billing_period", "Term", Str, "text"),
        ],
    },
    Own {
        type_id: "0-8",
        group: "lineiteminformation",
        properties: &[
            P("createdate", "Create Date", Datetime, "date"),
            P("name", "Name", Str, "text"),
            P("description", "Description", Str, "textarea"),
            P("price", "Unit price", Number, "number"),
            P("quantity", "Quantity", Number, "number"),
            P("amount", "Net price", Number, "number"),
            P("hs_product_id", "Product ID", Number, "number"),
            P("hs_sku", "SKU", Str, "text"),
            P("discount", "Unit discount", Number, "number"),
            P(
                "hs_recurring_billing_end_date",
                "Term end date",
                Date,
                "date",
            ),
        ],
    },
    Own {
        type_id: "0-420",
        group: "listing_information",
        properties: &[
            P("hs_name", "Listing name", Str, "text"),
            P("hs_price", "Listing price", Number, "number"),
            P("hs_address_1", "Address 1", Str, "text"),
            P("hs_address_2", "Address 2", Str, "text"),
            P("hs_city", "City", Str, "text"),
            P("hs_state_province", "State/Province", Str, "text"),
            P("hs_zip", "Zip", Str, "text"),
            P("hs_bedrooms", "Bedrooms", Number, "number"),
            P("hs_bathrooms", "Bathrooms", Number, "number"),
            P("hs_square_footage", "Square footage", Number, "number"),
            P("hs_lot_size", "Lot size", Number, "number"),
            P("hs_year_built", "Year built", Number, "number"),
            P("hs_listing_type", "Listing type", Enum, "select"),
            P("hs_neighborhood", "Neighborhood", Str, "text"),
            P("hubspot_owner_id", "Listing owner", Enum, "select"),
        ],
    },
    Own {
        type_id: "0-1500",
        group: "partner_client_information",
        properties: &[
            P("hs_name", "Name", Str, "text"),
            P("hs_domain", "Domain", Str, "text"),
            P("hs_client_portal_id", "Client account ID", Number, "number"),
            P("hs_relationship_status", "Relationship status", Str, "text"),
            P("hs_notes", "Notes", Str, "textarea"),
        ],
    },
    Own {
        type_id: "0-1501",
        group: "partner_service_information",
        properties: &[
            P("hs_name", "Name", Str, "text"),
            P("hs_description", "Description", Str, "textarea"),
            P("hs_service_type", "Service type", Str, "text"),
            P("hs_status", "Status", Str, "text"),
            P("hs_start_date", "Start date", Date, "date"),
            P("hs_notes", "Notes", Str, "textarea"),
        ],
    },
    Own {
        type_id: "0-48",
        group: "call_information",
        properties: &[
            P("hs_timestamp", "Activity date", Datetime, "date"),
            P("hs_call_title", "Call Title", Str, "text"),
            P("hs_call_body", "Call notes", Str, "html"),
            P("hs_call_direction", "Call direction", Enum, "select"),
            P("hs_call_disposition", "Call outcome", Enum, "select"),
            P("hs_call_status", "Call status", Enum, "select"),
            P("hs_call_duration", "Call duration", Number, "number"),
            P("hs_call_from_number", "From number", Str, "text"),
            P("hs_call_to_number", "To number", Str, "text"),
            P("hs_call_recording_url", "Recording URL", Str, "text"),
            P(
                "hs_call_callee_object_id",
                "Callee object id",
                Number,
                "number",
            ),
            P(
                "hs_call_callee_object_type",
                "Callee object type",
                Str,
                "text",
            ),
            P("hs_call_source", "Call source", Str, "text"),
            P("hs_activity_type", "Call and meeting type", Str, "text"),
            P(
                "hs_call_has_voicemail",
                "Has voicemail",
                Bool,
                "booleancheckbox",
            ),
            P("hubspot_owner_id", "Activity assigned to", Enum, "select"),
        ],
    },
    Own {
        type_id: "0-49",
        group: "email_information",
        properties: &[
            P("hs_timestamp", "Activity date", Datetime, "date"),
            P("hs_email_subject", "Email subject", Str, "text"),
            P("hs_email_text", "Email body", Str, "textarea"),
            P("hs_email_html", "Email HTML body", Str, "html"),
            P("hs_email_headers", "Email headers", Str, "textarea"),
            P("hs_email_direction", "Email direction", Enum, "select"),
            P("hs_email_status", "Email send status", Enum, "select"),
            P("hubspot_owner_id", "Activity assigned to", Enum, "select"),
        ],
    },
    Own {
        type_id: "0-47",
        group: "meeting_information",
        properties: &[
            P("hs_timestamp", "Activity date", Datetime, "date"),
            P("hs_meeting_title", "Meeting name", Str, "text"),
            P("hs_meeting_body", "Meeting description", Str, "html"),
            P(
                "hs_internal_meeting_notes",
                "Internal meeting notes",
                Str,
                "html",
            ),
            P("hs_meeting_external_url", "External URL", Str, "text"),
            P("hs_meeting_location", "Location", Str, "text"),
            P(
                "hs_meeting_start_time",
                "Meeting start time",
                Datetime,
                "date",
            ),
            P("hs_meeting_end_time", "Meeting end time", Datetime, "date"),
            P("hs_meeting_outcome", "Meeting outcome", Enum, "select"),
            P("hs_activity_type", "Call and meeting type", Str, "text"),
            P("hubspot_owner_id", "Activity assigned to", Enum, "select"),
        ],
    },
    Own {
        type_id: "0-46",
        group: "note_information",
        properties: &[
            P("hs_timestamp", "Activity date", Datetime, "date"),
            P("hs_note_body", "Note body", Str, "html"),
            P("hs_attachment_ids", "Attached file IDs", Str, "text"),
            P("hubspot_owner_id", "Activity assigned to", Enum, "select"),
        ],
    },
    Own {
        type_id: "0-27",
        group: "task_information",
        properties: &[
            P("hs_timestamp", "Due date", Datetime, "date"),
            P("hs_task_subject", "Task title", Str, "text"),
            P("hs_task_body", "Notes", Str, "html"),
            P("hs_task_status", "Task status", Enum, "select"),
            P("hs_task_priority", "Priority", Enum, "select"),
            P("hs_task_type", "Task type", Enum, "select"),
            P("hs_task_reminders", "Reminders", Str, "text"),
            P("hs_task_is_all_day", "Is all day", Bool, "booleancheckbox"),
            P("hubspot_owner_id", "Assigned to", Enum, "select"),
        ],
    },
    Own {
        type_id: "0-18",
        group: "communication_information",
        properties: &[
            P("hs_timestamp", "Activity date", Datetime, "date"),
            P(
                "hs_communication_channel_type",
                "Channel type",
                Enum,
                "select",
            ),
            P(
                "hs_communication_logged_from",
                "Logged from",
                Enum,
                "select",
            ),
            P("hs_communication_body", "Body", Str, "textarea"),
            P("hubspot_owner_id", "Activity assigned to", Enum, "select"),
        ],
    },
    Own {
        type_id: "0-116",
        group: "postal_mail_information",
        properties: &[
            P("hs_timestamp", "Activity date", Datetime, "date"),
            P("hs_postal_mail_body", "Body", Str, "textarea"),
            P("hubspot_owner_id", "Activity assigned to", Enum, "select"),
        ],
    },
    Own {
        type_id: "0-14",
        group: "quote_information",
        properties: &[
            P("hs_title", "Quote name", Str, "text"),
            P("hs_expiration_date", "Quote expiration date", Date, "date"),
            P("hs_status", "Quote approval status", Enum, "select"),
            P("hs_public_url_key", "Public URL key", Str, "text"),
            P("hs_language", "Quote language", Str, "text"),
            P("hs_currency", "Currency", Str, "text"),
            P("hs_sender_firstname", "Sender first name", Str, "text"),
            P("hs_sender_lastname", "Sender last name", Str, "text"),
            P("hs_sender_email", "Sender email", Str, "text"),
            P("hs_sender_company_name", "Sender company name", Str, "text"),
            P(
                "hs_esign_enabled",
                "Enable e-signatures",
                Bool,
                "booleancheckbox",
            ),
            P("hubspot_owner_id", "Quote owner", Enum, "select"),
        ],
    },
    Own {
        type_id: "0-136",
        group: "lead_information",
        properties: &[
            P("hs_lead_name", "Lead name", Str, "text"),
            P("hs_lead_type", "Lead type", Enum, "select"),
            P("hs_lead_label", "Lead label", Enum, "select"),
            P("hubspot_owner_id", "Lead owner", Enum, "select"),
        ],
    },
    Own {
        type_id: "0-74",
        group: "goal_target_information",
        properties: &[
            P("hs_goal_name", "Goal name", Str, "text"),
            P("hs_target_amount", "Target amount", Number, "number"),
            P("hs_start_datetime", "Start date", Datetime, "date"),
            P("hs_end_datetime", "End date", Datetime, "date"),
            P(
                "hs_goal_target_group_id",
                "Goal target group ID",
                Number,
                "number",
            ),
            P(
                "hs_group_correlation_uuid",
                "Group correlation UUID",
                Str,
                "text",
            ),
        ],
    },
    Own {
        type_id: "0-19",
        group: "feedback_submission_information",
        properties: &[
            P("hs_survey_id", "Survey ID", Number, "number"),
            P("hs_survey_name", "Survey name", Str, "text"),
            P("hs_survey_type", "Survey type", Enum, "select"),
            P("hs_survey_channel", "Survey channel", Str, "text"),
            P("hs_value", "Response value", Number, "number"),
            P("hs_sentiment", "Sentiment", Enum, "select"),
            P("hs_content", "Response", Str, "textarea"),
        ],
    },
    Own {
        type_id: "0-1502",
        group: "deal_split_information",
        properties: &[
            P("hs_deal_id", "Deal ID", Number, "number"),
            P("hs_deal_split_amount", "Split amount", Number, "number"),
            P(
                "hs_deal_split_percentage",
                "Split percentage",
                Number,
                "number",
            ),
            P("hubspot_owner_id", "Split owner", Enum, "select"),
        ],
    },
];

/// Options of the enumerations of the engagement and other synced types, as data:
/// (type id, property, options).
type Options = &'static [(&'static str, &'static str)];
const OWN_OPTIONS: &[(&str, &str, Options)] = &[
    (
        "0-48",
        "hs_call_direction",
        &[("INBOUND", "Inbound"), ("OUTBOUND", "Outbound")],
    ),
    (
        "0-48",
        "hs_call_disposition",
        &[
            ("9d9162e7-6cf3-4944-bf63-4dff82258764", "Busy"),
            ("f240bbac-87c9-4f6e-bf70-924b57d47db7", "Connected"),
            ("a4c4c377-d246-4b32-a13b-75a56a4cd0ff", "Left live message"),
            ("b2cf5968-551e-4856-9783-52b3da59a7d0", "Left voicemail"),
            ("73a0d17f-1163-4015-bdd5-ec830791da20", "No answer"),
            ("17b47fee-58de-441e-a44c-c6300d46f273", "Wrong number"),
        ],
    ),
    (
        "0-48",
        "hs_call_status",
        &[
            ("BUSY", "Busy"),
            ("CALLING_CRM_USER", "Calling CRM user"),
            ("CANCELED", "Canceled"),
            ("COMPLETED", "Completed"),
            ("CONNECTING", "Connecting"),
            ("FAILED", "Failed"),
            ("IN_PROGRESS", "In progress"),
            ("NO_ANSWER", "No answer"),
            ("QUEUED", "Queued"),
            ("RINGING", "Ringing"),
        ],
    ),
    (
        "0-49",
        "hs_email_direction",
        &[
            ("EMAIL", "Sent by owner"),
            ("INCOMING_EMAIL", "Reply from contact"),
            ("FORWARDED_EMAIL", "Forwarded"),
        ],
    ),
    (
        "0-49",
        "hs_email_status",
        &[
            ("BOUNCED", "Bounced"),
            ("FAILED", "Failed"),
            ("SCHEDULED", "Scheduled"),
            ("SENDING", "Sending"),
            ("SENT", "Sent"),
        ],
    ),
    (
        "0-47",
        "hs_meeting_outcome",
        &[
            ("SCHEDULED", "Scheduled"),
            ("COMPLETED", "Completed"),
            ("RESCHEDULED", "Rescheduled"),
            ("NO_SHOW", "No show"),
            ("CANCELED", "Canceled"),
        ],
    ),
    (
        "0-27",
        "hs_task_status",
        &[
            ("NOT_STARTED", "Not started"),
            ("IN_PROGRESS", "In progress"),
            ("WAITING", "Waiting"),
            ("COMPLETED", "Completed"),
            ("DEFERRED", "Deferred"),
        ],
    ),
    (
        "0-27",
        "hs_task_priority",
        &[
            ("NONE", "None"),
            ("LOW", "Low"),
            ("MEDIUM", "Medium"),
            ("HIGH", "High"),
        ],
    ),
    (
        "0-27",
        "hs_task_type",
        &[
            ("EMAIL", "Email"),
            ("CALL", "Call"),
            ("TODO", "To-do"),
            ("LINKED_IN_CONNECT", "LinkedIn connect"),
            ("LINKED_IN_MESSAGE", "LinkedIn message"),
        ],
    ),
    (
        "0-18",
        "hs_communication_channel_type",
        &[
            ("WHATS_APP", "WhatsApp"),
            ("LINKEDIN_MESSAGE", "LinkedIn"),
            ("SMS", "SMS"),
        ],
    ),
    ("0-18", "hs_communication_logged_from", &[("CRM", "CRM")]),
    (
        "0-14",
        "hs_status",
        &[
            ("DRAFT", "Draft"),
            ("APPROVAL_NOT_NEEDED", "Approval not needed"),
            ("PENDING_APPROVAL", "Pending approval"),
            ("APPROVED", "Approved"),
            ("REJECTED", "Rejected"),
        ],
    ),
    (
        "0-136",
        "hs_lead_type",
        &[
            ("NEW_BUSINESS", "New business"),
            ("UPSELL", "Upsell"),
            ("RE_ATTEMPTING", "Re-attempting"),
        ],
    ),
    (
        "0-136",
        "hs_lead_label",
        &[("COLD", "Cold"), ("WARM", "Warm"), ("HOT", "Hot")],
    ),
    (
        "0-19",
        "hs_survey_type",
        &[
            ("NPS", "NPS"),
            ("CSAT", "CSAT"),
            ("CES", "CES"),
            ("CUSTOM", "Custom"),
        ],
    ),
    (
        "0-19",
        "hs_sentiment",
        &[
            ("POSITIVE", "Positive"),
            ("NEUTRAL", "Neutral"),
            ("NEGATIVE", "Negative"),
        ],
    ),
];

/// Options of the built-in enumerations that HubSpot ships with fixed values. A pipelined
/// type's pipeline and stage properties have none here: their options are the portal's
/// pipelines and stages (`spoke_store::pipelines`).
fn builtin_options(type_id: &str, name: &str) -> &'static [(&'static str, &'static str)] {
    match (type_id, name) {
        (_, "lifecyclestage") => &[
            ("subscriber", "Subscriber"),
            ("lead", "Lead"),
            ("marketingqualifiedlead", "Marketing Qualified Lead"),
            ("salesqualifiedlead", "Sales Qualified Lead"),
            ("opportunity", "Opportunity"),
            ("customer", "Customer"),
            ("evangelist", "Evangelist"),
            ("other", "Other"),
        ],
        ("0-1", "hs_lead_status") => &[
            ("NEW", "New"),
            ("OPEN", "Open"),
            ("IN_PROGRESS", "In Progress"),
            ("OPEN_DEAL", "Open Deal"),
            ("UNQUALIFIED", "Unqualified"),
            ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
            ("CONNECTED", "Connected"),
            ("BAD_TIMING", "Bad Timing"),
        ],
        ("0-3", "dealtype") => &[
            ("newbusiness", "New Business"),
            ("existingbusiness", "Existing Business"),
        ],
        ("0-3", "hs_priority") | ("0-5", "hs_ticket_priority") => {
            &[("LOW", "Low"), ("MEDIUM", "Medium"), ("HIGH", "High")]
        }
        ("0-5", "hs_ticket_category") => &[
            ("PRODUCT_ISSUE", "Product issue"),
            ("BILLING_ISSUE", "Billing issue"),
            ("FEATURE_REQUEST", "Feature request"),
            ("GENERAL_INQUIRY", "General inquiry"),
        ],
        ("0-5", "source_type") => &[
            ("CHAT", "Chat"),
            ("EMAIL", "Email"),
            ("FORM", "Form"),
            ("PHONE", "Phone"),
        ],
        ("0-420", "hs_listing_type") => &[
            ("house", "House"),
            ("townhouse", "Townhouse"),
            ("multi_family", "Multi-family"),
            ("condos_co_ops", "Condos/Co-ops"),
            ("lots_land", "Lots/Land"),
            ("apartments", "Apartments"),
            ("manufactured", "Manufactured"),
        ],
        _ => OWN_OPTIONS
            .iter()
            .find(|(t, n, _)| *t == type_id && *n == name)
            .map_or(&[], |(_, _, options)| options),
    }
}

/// The group of one of a type's own properties.
fn own_group(own: &Own, name: &str) -> String {
    OTHER_GROUP
        .iter()
        .find(|(ty, n, _)| *ty == own.type_id && *n == name)
        .map_or(own.group, |(_, _, group)| group)
        .to_owned()
}

/// The group name HubSpot puts system properties in for a type.
fn info_group(ty: &ObjectType) -> String {
    match ty.id.as_str() {
        "0-1" => "contactinformation".into(),
        "0-2" => "companyinformation".into(),
        "0-3" => "dealinformation".into(),
        "0-5" => "ticketinformation".into(),
        _ => format!("{}_information", ty.singular),
    }
}

fn build(ty: &ObjectType) -> Vec<PropertyDefinition> {
    let mut out: Vec<PropertyDefinition> = Vec::new();
    let own = OWN
        .iter()
        .filter(|own| own.type_id == ty.id.as_str())
        .flat_map(|own| own.properties.iter().map(|p| (p, own_group(own, p.0))));
    let system = SYSTEM.iter().map(|p| (p, info_group(ty)));
    for (i, (p, group)) in own.chain(system).enumerate() {
        if out.iter().any(|d| d.name == p.0) {
            continue;
        }
        let computed = ty.is_record_property(p.0);
        let options = if p.2 == Bool {
            vec![opt("true", "Yes", 0), opt("false", "No", 1)]
        } else {
            builtin_options(ty.id.as_str(), p.0)
                .iter()
                .enumerate()
                .map(|(i, (v, l))| opt(v, l, i as i32))
                .collect()
        };
        out.push(PropertyDefinition {
            name: p.0.to_owned(),
            label: p.1.to_owned(),
            kind: p.2,
            field_type: p.3.to_owned(),
            description: String::new(),
            group_name: group,
            options,
            display_order: if computed { -1 } else { i as i32 },
            // spoke computes these from the record itself; HubSpot calls them calculated in
            // its READ_ONLY_VALUE message (hubspot-behavior.md §5).
            calculated: computed,
            external_options: p.0 == "hubspot_owner_id",
            has_unique_value: false,
            hidden: false,
            hubspot_defined: true,
            form_field: !computed,
            read_only_value: computed || p.0 == "hs_email_domain",
            read_only_definition: true,
            archivable: false,
            created_at: None,
            updated_at: None,
            archived: false,
            archived_at: None,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn opt(value: &str, label: &str, order: i32) -> PropertyOption {
    PropertyOption {
        label: label.to_owned(),
        value: value.to_owned(),
        description: None,
        display_order: order,
        hidden: false,
    }
}

/// The HubSpot-defined properties of a type, sorted by name.
pub fn builtin_properties(ty: &ObjectType) -> &[PropertyDefinition] {
    ty.builtin_properties()
}

/// The properties every type computes from its records, in the type's information
/// group: all a custom type has before its schema's own.
pub(crate) fn system_properties(ty: &ObjectType) -> Vec<PropertyDefinition> {
    build(ty)
}

/// The built-in property groups of a type: (name, label).
pub fn builtin_groups(ty: &ObjectType) -> Vec<(String, String)> {
    let mut names: Vec<String> = builtin_properties(ty)
        .iter()
        .map(|p| p.group_name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|n| {
            let label = n.replace('_', " ");
            (n, label)
        })
        .collect()
}

/// The types HubSpot's webhook subscriptions name (`contact.creation`, `line_item.propertyChange`,
/// hubspot-behavior-apps.md §42.2), by type id: the name their event types start with, and
/// whether the enum has `{name}.associationChange` (all but products). Every other type,
/// custom ones included, is subscribed to as `object.*` with its `objectTypeId`.
const WEBHOOK_NAMES: &[(&str, &str, bool)] = &[
    ("0-1", "contact", true),
    ("0-2", "company", true),
    ("0-3", "deal", true),
    ("0-5", "ticket", true),
    ("0-8", "line_item", true),
    ("0-7", "product", false),
];

/// How a type's webhook event types are named, if HubSpot's event type enum names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookName {
    /// `contact`, as in `contact.creation`.
    pub name: &'static str,
    /// Whether `{name}.associationChange` exists.
    pub association_events: bool,
}

pub fn webhook_name(type_id: &str) -> Option<WebhookName> {
    WEBHOOK_NAMES
        .iter()
        .find(|(id, _, _)| *id == type_id)
        .map(|&(_, name, association_events)| WebhookName {
            name,
            association_events,
        })
}

/// Every webhook name, with its type id.
pub fn webhook_names() -> impl Iterator<Item = (&'static str, WebhookName)> {
    WEBHOOK_NAMES.iter().map(|&(id, name, association_events)| {
        (
            id,
            WebhookName {
                name,
                association_events,
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_names_are_the_singular_names_of_their_types() {
        for (id, w) in webhook_names() {
            let ty = standard_types().iter().find(|t| t.id.as_str() == id);
            assert_eq!(ty.map(|t| t.singular.as_str()), Some(w.name), "{id}");
        }
        assert_eq!(
            webhook_names()
                .filter(|(_, w)| w.association_events)
                .count(),
            5
        );
        assert_eq!(webhook_name("0-420"), None);
    }

    #[test]
    fn every_type_has_its_record_properties_read_only() {
        for ty in standard_types() {
            let props = builtin_properties(ty);
            for name in [
                "hs_object_id",
                &ty.createdate_property,
                &ty.modified_property,
            ] {
                let p = props.iter().find(|p| p.name == name);
                assert!(p.is_some_and(|p| p.read_only_value), "{} {name}", ty.name);
            }
            for name in &ty.default_properties {
                assert!(
                    props.iter().any(|p| &p.name == name),
                    "{} default {name}",
                    ty.name
                );
            }
        }
    }
}
