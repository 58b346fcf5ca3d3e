//! The data set: what a benchmark contact and company look like, and the values later
//! writes put on them. The same values go over HTTP and to the raw store.

/// The ten properties every benchmark contact is created with.
pub const CONTACT_PROPERTIES: [&str; 10] = [
    "email",
    "firstname",
    "lastname",
    "phone",
    "company",
    "website",
    "jobtitle",
    "city",
    "state",
    "country",
];

const FIRST: [&str; 8] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken",
];
const LAST: [&str; 8] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson",
];
const CITY: [(&str, &str, &str); 6] = [
    ("Boston", "MA", "United States"),
    ("Dublin", "Leinster", "Ireland"),
    ("Berlin", "Berlin", "Germany"),
    ("Paris", "Ile-de-France", "France"),
    ("Austin", "TX", "United States"),
    ("Sydney", "NSW", "Australia"),
];

pub fn email(n: u64) -> String {
    format!("bench-{n}@example.com")
}

/// Contact number `n` (its email is unique by `n`).
pub fn contact(n: u64) -> Vec<(&'static str, String)> {
    let i = n as usize;
    let (city, state, country) = CITY[i % CITY.len()];
    let company = n / 10;
    vec![
        ("email", email(n)),
        ("firstname", FIRST[i % FIRST.len()].to_owned()),
        ("lastname", LAST[(i / 8) % LAST.len()].to_owned()),
        ("phone", format!("+1 617 555 {:04}", n % 10_000)),
        ("company", format!("Company {company}")),
        ("website", format!("https://company{company}.example.com")),
        ("jobtitle", "Engineer".to_owned()),
        ("city", city.to_owned()),
        ("state", state.to_owned()),
        ("country", country.to_owned()),
    ]
}

/// Company number `n`.
pub fn company(n: u64) -> Vec<(&'static str, String)> {
    vec![
        ("name", format!("Company {n}")),
        ("domain", format!("company{n}.example.com")),
        // A number property for the `search-any-range` scenario: unique, so a range of
        // ten numbers selects ten companies.
        ("numberofemployees", n.to_string()),
    ]
}

/// Deal number `n` (the full-sync scenarios load deals; the others do not).
pub fn deal(n: u64) -> Vec<(&'static str, String)> {
    vec![
        ("dealname", format!("Deal {n}")),
        ("amount", format!("{}", (n % 100 + 1) * 100)),
    ]
}

/// Contact `j` (in load order) belongs to company `j / 10`, so every one of the regular
/// companies has exactly 10 contacts; the hub contact to every hub company, the ten-link
/// contact to the first ten of them. Over HTTP and on the raw store alike.
pub fn company_pairs(
    contacts: &[i64],
    regular: &[i64],
    (hub, hub_companies): (i64, &[i64]),
    ten: i64,
) -> Vec<(i64, i64)> {
    let mut pairs: Vec<(i64, i64)> = contacts
        .iter()
        .enumerate()
        .filter_map(|(j, c)| regular.get(j / 10).map(|co| (*c, *co)))
        .collect();
    pairs.extend(hub_companies.iter().map(|co| (hub, *co)));
    pairs.extend(hub_companies.iter().take(10).map(|co| (ten, *co)));
    pairs
}

/// Contact `j` to deal `j / 10`: deals in the same proportion as companies.
pub fn deal_pairs(contacts: &[i64], deals: &[i64]) -> Vec<(i64, i64)> {
    contacts
        .iter()
        .enumerate()
        .filter_map(|(j, c)| deals.get(j / 10).map(|d| (*c, *d)))
        .collect()
}

/// A batch update's three changed properties; `seq` makes every write a real change, so
/// every update adds history.
pub fn update(seq: u64) -> Vec<(&'static str, String)> {
    vec![
        ("jobtitle", format!("Role {seq}")),
        ("city", format!("City {seq}")),
        ("state", format!("State {seq}")),
    ]
}

/// An upsert's three properties (besides the email that names the record).
pub fn upsert(seq: u64) -> Vec<(&'static str, String)> {
    vec![
        ("firstname", format!("Name {seq}")),
        ("lastname", format!("Surname {seq}")),
        ("jobtitle", format!("Upserted {seq}")),
    ]
}

/// A `batch/create` body, written straight to bytes: the load generator shares the server's
/// cores, and building a `serde_json::Value` tree per request cost it several times more CPU
/// than the server's own parsing of the body.
pub fn create_body(records: impl Iterator<Item = Vec<(&'static str, String)>>) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 * 1024);
    out.extend_from_slice(b"{\"inputs\":[");
    for (i, props) in records.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"properties\":{");
        for (j, (k, v)) in props.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            // Writing a string into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, k);
            out.push(b':');
            let _ = serde_json::to_writer(&mut out, v);
        }
        out.extend_from_slice(b"}}");
    }
    out.extend_from_slice(b"]}");
    out
}

pub fn to_json(props: Vec<(&'static str, String)>) -> serde_json::Value {
    serde_json::Value::Object(
        props
            .into_iter()
            .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v)))
            .collect(),
    )
}

pub fn to_map(props: Vec<(&'static str, String)>) -> std::collections::BTreeMap<String, String> {
    props.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
