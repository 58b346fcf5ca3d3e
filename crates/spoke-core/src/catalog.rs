//! The built-in object types and their HubSpot-defined properties.
//!
//! Ids, names and scopes follow hubspot-behavior.md §4.1/§4.2. HubSpot publishes no
//! objectTypeId for partner clients and partner services; spoke uses `0-1500` and `0-1501`
//! (docs/compatibility.md), and always accepts their names.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::object_type::{ObjectType, ObjectTypeId};
use crate::property::{PropertyDefinition, PropertyOption, PropertyType};

const CUSTOM_DEFAULTS: &[&str] = &["hs_createdate", "hs_lastmodifieddate", "hs_object_id"];

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
        schema_scope_name: "contacts",
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
        schema_scope_name: "companies",
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
        schema_scope_name: "deals",
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
        schema_scope_name: "tickets",
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
        schema_scope_name: "products",
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
        schema_scope_name: "line_items",
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
        schema_scope_name: "listings",
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
        schema_scope_name: "partner-clients",
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
        schema_scope_name: "partner-services",
    },
];

/// Compact description of one built-in property: name, label, type, field type, group.
struct P(
    &'static str,
    &'static str,
    PropertyType,
    &'static str,
    &'static str,
);

use PropertyType::{Bool, Date, Datetime, Enumeration as Enum, Number, String as Str};

/// Properties every type has, computed from the record (read-only).
const SYSTEM: &[P] = &[
    P("hs_object_id", "Record ID", Number, "number", "{info}"),
    P(
        "hs_createdate",
        "Object create date/time",
        Datetime,
        "date",
        "{info}",
    ),
    P(
        "hs_lastmodifieddate",
        "Object last modified date/time",
        Datetime,
        "date",
        "{info}",
    ),
];

const CONTACTS: &[P] = &[
    P(
        "createdate",
        "Create Date",
        Datetime,
        "date",
        "contactinformation",
    ),
    P(
        "lastmodifieddate",
        "Last Modified Date",
        Datetime,
        "date",
        "contactinformation",
    ),
    P("email", "Email", Str, "text", "contactinformation"),
    P("firstname", "First Name", Str, "text", "contactinformation"),
    P("lastname", "Last Name", Str, "text", "contactinformation"),
    P(
        "phone",
        "Phone Number",
        Str,
        "phonenumber",
        "contactinformation",
    ),
    P(
        "mobilephone",
        "Mobile Phone Number",
        Str,
        "phonenumber",
        "contactinformation",
    ),
    P("company", "Company Name", Str, "text", "contactinformation"),
    P("website", "Website URL", Str, "text", "contactinformation"),
    P("jobtitle", "Job Title", Str, "text", "contactinformation"),
    P(
        "address",
        "Street Address",
        Str,
        "text",
        "contactinformation",
    ),
    P("city", "City", Str, "text", "contactinformation"),
    P("state", "State/Region", Str, "text", "contactinformation"),
    P("zip", "Postal Code", Str, "text", "contactinformation"),
    P(
        "country",
        "Country/Region",
        Str,
        "text",
        "contactinformation",
    ),
    P(
        "lifecyclestage",
        "Lifecycle Stage",
        Enum,
        "radio",
        "contactinformation",
    ),
    P(
        "hs_lead_status",
        "Lead Status",
        Enum,
        "radio",
        "sales_properties",
    ),
    P(
        "hubspot_owner_id",
        "Contact owner",
        Enum,
        "select",
        "contactinformation",
    ),
    P("message", "Message", Str, "textarea", "contactinformation"),
    P(
        "date_of_birth",
        "Date of birth",
        Str,
        "text",
        "contactinformation",
    ),
    P(
        "hs_email_domain",
        "Email Domain",
        Str,
        "text",
        "contactinformation",
    ),
];

const COMPANIES: &[P] = &[
    P(
        "createdate",
        "Create Date",
        Datetime,
        "date",
        "companyinformation",
    ),
    P("name", "Company name", Str, "text", "companyinformation"),
    P(
        "domain",
        "Company Domain Name",
        Str,
        "text",
        "companyinformation",
    ),
    P("website", "Website URL", Str, "text", "companyinformation"),
    P(
        "phone",
        "Phone Number",
        Str,
        "phonenumber",
        "companyinformation",
    ),
    P(
        "address",
        "Street Address",
        Str,
        "text",
        "companyinformation",
    ),
    P("city", "City", Str, "text", "companyinformation"),
    P("state", "State/Region", Str, "text", "companyinformation"),
    P("zip", "Postal Code", Str, "text", "companyinformation"),
    P(
        "country",
        "Country/Region",
        Str,
        "text",
        "companyinformation",
    ),
    P("industry", "Industry", Str, "text", "companyinformation"),
    P(
        "description",
        "Description",
        Str,
        "textarea",
        "companyinformation",
    ),
    P(
        "numberofemployees",
        "Number of Employees",
        Number,
        "number",
        "companyinformation",
    ),
    P(
        "annualrevenue",
        "Annual Revenue",
        Number,
        "number",
        "companyinformation",
    ),
    P(
        "lifecyclestage",
        "Lifecycle Stage",
        Enum,
        "radio",
        "companyinformation",
    ),
    P(
        "hubspot_owner_id",
        "Company owner",
        Enum,
        "select",
        "companyinformation",
    ),
];

const DEALS: &[P] = &[
    P(
        "createdate",
        "Create Date",
        Datetime,
        "date",
        "dealinformation",
    ),
    P("dealname", "Deal Name", Str, "text", "dealinformation"),
    P("amount", "Amount", Number, "number", "dealinformation"),
    P("dealstage", "Deal Stage", Enum, "radio", "dealinformation"),
    P("pipeline", "Pipeline", Enum, "select", "dealinformation"),
    P(
        "closedate",
        "Close Date",
        Datetime,
        "date",
        "dealinformation",
    ),
    P("dealtype", "Deal Type", Enum, "radio", "dealinformation"),
    P(
        "description",
        "Deal Description",
        Str,
        "textarea",
        "dealinformation",
    ),
    P("hs_priority", "Priority", Enum, "select", "dealinformation"),
    P(
        "hubspot_owner_id",
        "Deal owner",
        Enum,
        "select",
        "dealinformation",
    ),
];

const TICKETS: &[P] = &[
    P(
        "createdate",
        "Create date",
        Datetime,
        "date",
        "ticketinformation",
    ),
    P("subject", "Ticket name", Str, "text", "ticketinformation"),
    P(
        "content",
        "Ticket description",
        Str,
        "textarea",
        "ticketinformation",
    ),
    P(
        "hs_pipeline",
        "Pipeline",
        Enum,
        "select",
        "ticketinformation",
    ),
    P(
        "hs_pipeline_stage",
        "Ticket status",
        Enum,
        "select",
        "ticketinformation",
    ),
    P(
        "hs_ticket_category",
        "Category",
        Enum,
        "checkbox",
        "ticketinformation",
    ),
    P(
        "hs_ticket_priority",
        "Priority",
        Enum,
        "select",
        "ticketinformation",
    ),
    P("source_type", "Source", Enum, "select", "ticketinformation"),
    P(
        "hubspot_owner_id",
        "Ticket owner",
        Enum,
        "select",
        "ticketinformation",
    ),
];

const PRODUCTS: &[P] = &[
    P(
        "createdate",
        "Create Date",
        Datetime,
        "date",
        "productinformation",
    ),
    P("name", "Name", Str, "text", "productinformation"),
    P(
        "description",
        "Description",
        Str,
        "textarea",
        "productinformation",
    ),
    P(
        "price",
        "Unit price",
        Number,
        "number",
        "productinformation",
    ),
    P("hs_sku", "SKU", Str, "text", "productinformation"),
    P(
        "hs_cost_of_goods_sold",
        "Unit cost",
        Number,
        "number",
        "productinformation",
    ),
    P(
        "hs_recurring_billing_period",
        "Term",
        Str,
        "text",
        "productinformation",
    ),
];

const LINE_ITEMS: &[P] = &[
    P(
        "createdate",
        "Create Date",
        Datetime,
        "date",
        "lineiteminformation",
    ),
    P("name", "Name", Str, "text", "lineiteminformation"),
    P(
        "description",
        "Description",
        Str,
        "textarea",
        "lineiteminformation",
    ),
    P(
        "price",
        "Unit price",
        Number,
        "number",
        "lineiteminformation",
    ),
    P(
        "quantity",
        "Quantity",
        Number,
        "number",
        "lineiteminformation",
    ),
    P(
        "amount",
        "Net price",
        Number,
        "number",
        "lineiteminformation",
    ),
    P(
        "hs_product_id",
        "Product ID",
        Number,
        "number",
        "lineiteminformation",
    ),
    P("hs_sku", "SKU", Str, "text", "lineiteminformation"),
    P(
        "discount",
        "Unit discount",
        Number,
        "number",
        "lineiteminformation",
    ),
    P(
        "hs_recurring_billing_end_date",
        "Term end date",
        Date,
        "date",
        "lineiteminformation",
    ),
];

const LISTINGS: &[P] = &[
    P(
        "hs_name",
        "Listing name",
        Str,
        "text",
        "listing_information",
    ),
    P(
        "hs_price",
        "Listing price",
        Number,
        "number",
        "listing_information",
    ),
    P(
        "hs_address_1",
        "Address 1",
        Str,
        "text",
        "listing_information",
    ),
    P(
        "hs_address_2",
        "Address 2",
        Str,
        "text",
        "listing_information",
    ),
    P("hs_city", "City", Str, "text", "listing_information"),
    P(
        "hs_state_province",
        "State/Province",
        Str,
        "text",
        "listing_information",
    ),
    P("hs_zip", "Zip", Str, "text", "listing_information"),
    P(
        "hs_bedrooms",
        "Bedrooms",
        Number,
        "number",
        "listing_information",
    ),
    P(
        "hs_bathrooms",
        "Bathrooms",
        Number,
        "number",
        "listing_information",
    ),
    P(
        "hs_square_footage",
        "Square footage",
        Number,
        "number",
        "listing_information",
    ),
    P(
        "hs_lot_size",
        "Lot size",
        Number,
        "number",
        "listing_information",
    ),
    P(
        "hs_year_built",
        "Year built",
        Number,
        "number",
        "listing_information",
    ),
    P(
        "hs_listing_type",
        "Listing type",
        Enum,
        "select",
        "listing_information",
    ),
    P(
        "hs_neighborhood",
        "Neighborhood",
        Str,
        "text",
        "listing_information",
    ),
    P(
        "hubspot_owner_id",
        "Listing owner",
        Enum,
        "select",
        "listing_information",
    ),
];

const PARTNER_CLIENTS: &[P] = &[
    P("hs_name", "Name", Str, "text", "partner_client_information"),
    P(
        "hs_domain",
        "Domain",
        Str,
        "text",
        "partner_client_information",
    ),
    P(
        "hs_client_portal_id",
        "Client account ID",
        Number,
        "number",
        "partner_client_information",
    ),
    P(
        "hs_relationship_status",
        "Relationship status",
        Str,
        "text",
        "partner_client_information",
    ),
    P(
        "hs_notes",
        "Notes",
        Str,
        "textarea",
        "partner_client_information",
    ),
];

const PARTNER_SERVICES: &[P] = &[
    P(
        "hs_name",
        "Name",
        Str,
        "text",
        "partner_service_information",
    ),
    P(
        "hs_description",
        "Description",
        Str,
        "textarea",
        "partner_service_information",
    ),
    P(
        "hs_service_type",
        "Service type",
        Str,
        "text",
        "partner_service_information",
    ),
    P(
        "hs_status",
        "Status",
        Str,
        "text",
        "partner_service_information",
    ),
    P(
        "hs_start_date",
        "Start date",
        Date,
        "date",
        "partner_service_information",
    ),
    P(
        "hs_notes",
        "Notes",
        Str,
        "textarea",
        "partner_service_information",
    ),
];

/// Options of the built-in enumerations that HubSpot ships with fixed values.
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
        ("0-3", "dealstage") => &[
            ("appointmentscheduled", "Appointment Scheduled"),
            ("qualifiedtobuy", "Qualified To Buy"),
            ("presentationscheduled", "Presentation Scheduled"),
            ("decisionmakerboughtin", "Decision Maker Bought-In"),
            ("contractsent", "Contract Sent"),
            ("closedwon", "Closed Won"),
            ("closedlost", "Closed Lost"),
        ],
        ("0-3", "pipeline") | ("0-5", "hs_pipeline") => &[("default", "Sales Pipeline")],
        ("0-3", "dealtype") => &[
            ("newbusiness", "New Business"),
            ("existingbusiness", "Existing Business"),
        ],
        ("0-3", "hs_priority") | ("0-5", "hs_ticket_priority") => {
            &[("LOW", "Low"), ("MEDIUM", "Medium"), ("HIGH", "High")]
        }
        ("0-5", "hs_pipeline_stage") => &[
            ("1", "New"),
            ("2", "Waiting on contact"),
            ("3", "Waiting on us"),
            ("4", "Closed"),
        ],
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

fn own_properties(type_id: &str) -> &'static [P] {
    match type_id {
        "0-1" => CONTACTS,
        "0-2" => COMPANIES,
        "0-3" => DEALS,
        "0-5" => TICKETS,
        "0-7" => PRODUCTS,
        "0-8" => LINE_ITEMS,
        "0-420" => LISTINGS,
        "0-1500" => PARTNER_CLIENTS,
        "0-1501" => PARTNER_SERVICES,
        _ => &[],
    }
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
    let own = own_properties(ty.id.0);
    for (i, p) in own.iter().chain(SYSTEM.iter()).enumerate() {
        if out.iter().any(|d| d.name == p.0) {
            continue;
        }
        let computed = ty.is_record_property(p.0);
        let group = if p.4 == "{info}" {
            info_group(ty)
        } else {
            p.4.to_owned()
        };
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
