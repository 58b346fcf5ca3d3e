//! The built-in object types and their HubSpot-defined properties.
//!
//! Ids, names and object scopes follow hubspot-behavior.md §4.1/§4.2; the scopes of
//! property definitions and pipelines are alternatives HubSpot's properties and pipelines
//! specs list (docs/compatibility.md says which stands for which type). HubSpot publishes no
//! objectTypeId for partner clients and partner services; spoke uses `0-1500` and `0-1501`
//! (docs/compatibility.md), and always accepts their names.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::object_type::{ObjectType, ObjectTypeId, Pipelined};
use crate::property::{PropertyDefinition, PropertyOption, PropertyType};

const CUSTOM_DEFAULTS: &[&str] = &["hs_createdate", "hs_lastmodifieddate", "hs_object_id"];

/// Deals: `pipeline` and `dealstage`, stages with a required probability.
const DEAL_PIPELINES: Pipelined = Pipelined {
    pipeline_property: "pipeline",
    stage_property: "dealstage",
    probability: true,
    ticket_state: false,
    max_stages: 100,
};

/// Tickets: `hs_pipeline` and `hs_pipeline_stage`, stages with an optional ticket state.
const TICKET_PIPELINES: Pipelined = Pipelined {
    pipeline_property: "hs_pipeline",
    stage_property: "hs_pipeline_stage",
    probability: false,
    ticket_state: true,
    max_stages: 100,
};

pub static OBJECT_TYPES: &[ObjectType] = &[
    ObjectType {
        id: ObjectTypeId("0-1"),
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
        schema_read_scopes: &["crm.schemas.contacts.read", "crm.objects.contacts.read"],
        schema_write_scopes: &["crm.schemas.contacts.write"],
        pipelines: None,
    },
    ObjectType {
        id: ObjectTypeId("0-2"),
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
        schema_read_scopes: &["crm.schemas.companies.read", "crm.objects.companies.read"],
        schema_write_scopes: &["crm.schemas.companies.write"],
        pipelines: None,
    },
    ObjectType {
        id: ObjectTypeId("0-3"),
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
        schema_read_scopes: &["crm.schemas.deals.read", "crm.objects.deals.read"],
        schema_write_scopes: &["crm.schemas.deals.write"],
        pipelines: Some(DEAL_PIPELINES),
    },
    ObjectType {
        id: ObjectTypeId("0-5"),
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
        schema_read_scopes: &["crm.schemas.tickets.read", "tickets"],
        schema_write_scopes: &["crm.schemas.tickets.write", "tickets"],
        pipelines: Some(TICKET_PIPELINES),
    },
    ObjectType {
        id: ObjectTypeId("0-7"),
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
        schema_read_scopes: &["e-commerce"],
        schema_write_scopes: &["e-commerce"],
        pipelines: None,
    },
    ObjectType {
        id: ObjectTypeId("0-8"),
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
        schema_read_scopes: &[
            "crm.schemas.line_items.read",
            "crm.objects.line_items.read",
            "e-commerce",
        ],
        schema_write_scopes: &["e-commerce"],
        pipelines: None,
    },
    ObjectType {
        id: ObjectTypeId("0-420"),
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
        schema_read_scopes: &["crm.schemas.listings.read", "crm.objects.listings.read"],
        schema_write_scopes: &["crm.schemas.listings.write"],
        pipelines: None,
    },
    ObjectType {
        id: ObjectTypeId("0-1500"),
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
        schema_read_scopes: &["crm.schemas.custom.read", "crm.objects.custom.read"],
        schema_write_scopes: &["crm.schemas.custom.write"],
        pipelines: None,
    },
    ObjectType {
        id: ObjectTypeId("0-1501"),
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
        schema_read_scopes: &["crm.schemas.custom.read", "crm.objects.custom.read"],
        schema_write_scopes: &["crm.schemas.custom.write"],
        pipelines: None,
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
        _ => &[],
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
    match ty.id.0 {
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
        .filter(|own| own.type_id == ty.id.0)
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
            builtin_options(ty.id.0, p.0)
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

/// The HubSpot-defined properties of a built-in type, sorted by name.
pub fn builtin_properties(ty: &ObjectType) -> &'static [PropertyDefinition] {
    static CACHE: OnceLock<HashMap<&'static str, Vec<PropertyDefinition>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| OBJECT_TYPES.iter().map(|t| (t.id.0, build(t))).collect());
    cache.get(ty.id.0).map(Vec::as_slice).unwrap_or(&[])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_its_record_properties_read_only() {
        for ty in OBJECT_TYPES {
            let props = builtin_properties(ty);
            for name in ["hs_object_id", ty.createdate_property, ty.modified_property] {
                let p = props.iter().find(|p| p.name == name);
                assert!(p.is_some_and(|p| p.read_only_value), "{} {name}", ty.name);
            }
            for name in ty.default_properties {
                assert!(
                    props.iter().any(|p| p.name == *name),
                    "{} default {name}",
                    ty.name
                );
            }
        }
    }
}
