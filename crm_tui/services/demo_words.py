"""Word lists the demo generator draws believable names from."""

FIRST_NAMES = (
    "Aaliyah Adam Adriana Ahmed Aiko Alejandro Alice Amara Amir Ana Andrea Anika Arjun Astrid "
    "Beatriz Benjamin Bianca Caleb Camila Carlos Charlotte Chen Chloe Daniel Dario David Diego "
    "Elena Eli Emma Erik Esther Ethan Fatima Felix Fiona Gabriel Grace Hana Hannah Hugo Ibrahim "
    "Ines Isaac Isla Ivan Jack James Jana Javier Jin Johanna Jonas Jorge Julia Kai Karin Kenji "
    "Laila Lars Laura Leo Lena Liam Lina Lucas Lucia Luis Maja Malik Marco Maria Mateo Maya Mei "
    "Mia Mikael Nadia Naomi Nia Nikolai Noah Nora Oliver Olivia Omar Oscar Paula Pedro Priya "
    "Rafael Rania Rebecca Ravi Rosa Ruben Sakura Samuel Sara Selin Sofia Sven Tariq Theo Tomas "
    "Uma Valentina Victor Wei Yara Yusuf Zara Zoe"
).split()

LAST_NAMES = (
    "Abebe Adeyemi Alvarez Andersen Bauer Becker Bergström Brown Campbell Carter Castillo Chen "
    "Costa Dubois Eriksen Fischer Flores Garcia Gomez Gonzalez Gupta Hansen Hoffmann Ibrahim "
    "Ito Jensen Johansson Kaur Khan Kim Kowalski Kumar Larsen Lee Lindqvist Lopez Martin "
    "Martinez Meyer Moreau Muller Murphy Nakamura Nguyen Nielsen Novak O'Brien Okafor Olsen "
    "Park Patel Perez Petrov Reyes Richter Rossi Russo Sanchez Santos Sato Schmidt Schneider "
    "Silva Singh Smith Sørensen Suzuki Tanaka Taylor Torres Van Dijk Walker Wang Weber Wilson "
    "Wójcik Yamamoto Yilmaz Zhang Ziegler"
).split()

COMPANY_PREFIXES = (
    "Blue North Silver Bright Iron Green Red Clear Swift True Cedar Maple Oak Pine Summit Harbor "
    "River Stone Granite Copper Golden Crystal Polar Sun Moon Star Nova Vertex Apex Prime Atlas "
    "Orbit Echo Fusion Quantum Vector Pixel Signal Beacon Anchor Bridge Compass Harvest Meadow "
    "Northwind Southgate Eastbay Westfield Highland Lakeside Brook Falcon Hawk Lynx Otter Fox "
    "Aurora Zenith Horizon Pioneer Keystone Cobalt Amber Indigo Crimson Evergreen Riverside "
    "Tidal Alpine Sierra Canyon Prairie Coastal Metro Urban Global United"
).split()

COMPANY_CORES = (
    "Logistics Analytics Foods Health Dynamics Robotics Energy Labs Media Systems Software "
    "Manufacturing Freight Capital Retail Pharma Motors Textiles Construction Hospitality "
    "Insurance Telecom Security Solar Water Farms Biotech Consulting Education Travel Outdoor "
    "Furniture Packaging Printing Studios Apparel Brewing Coffee Dental Veterinary Legal "
    "Marine Aviation Mining Chemicals Plastics Metals Electronics Networks Cloud Data Design "
    "Interiors Properties Homes Fitness Games Audio Optics Sensors Materials"
).split()

COMPANY_SUFFIXES = ("Inc", "Ltd", "GmbH", "Group", "Co", "LLC", "SA", "AB", "BV", "Partners", "Holdings", "")

INDUSTRIES = (
    "Software", "Manufacturing", "Retail", "Healthcare", "Logistics", "Finance", "Education",
    "Hospitality", "Energy", "Construction", "Media", "Telecom", "Public sector",
)

CITIES = (
    "Berlin", "London", "Madrid", "Paris", "Amsterdam", "Stockholm", "Warsaw", "Lisbon", "Dublin",
    "New York", "Austin", "Toronto", "Chicago", "Denver", "Seattle", "São Paulo", "Mexico City",
    "Tokyo", "Singapore", "Sydney", "Nairobi", "Lagos", "Cape Town", "Mumbai", "Istanbul",
)

JOB_TITLES = (
    "CEO", "CTO", "CFO", "COO", "Head of Operations", "Head of Sales", "IT Manager",
    "Procurement Lead", "Operations Manager", "Finance Director", "Product Manager",
    "Office Manager", "Marketing Director", "HR Business Partner", "Engineering Manager",
)

SOURCES = ("Website", "Referral", "Cold call", "Trade show", "Partner", "Inbound email", "LinkedIn", "Webinar")

PRODUCTS = (
    "Platform licence", "Analytics add-on", "Support plan", "Onboarding package", "Team training",
    "Implementation project", "Data migration", "Annual renewal", "Pilot", "Expansion",
    "Consulting retainer", "Integration work", "Security audit", "Enterprise upgrade",
)

TAGS = ("Consulting", "Training", "Support plan", "Implementation", "Licences", "Enterprise", "SMB", "Renewal")

TASK_TITLES = (
    "Follow up with {contact}", "Send proposal to {contact}", "Call {contact} about pricing",
    "Prepare demo for {company}", "Book kickoff with {company}", "Chase signature from {contact}",
    "Check budget approval at {company}", "Send case study to {contact}", "Review contract redlines",
    "Confirm decision timeline with {contact}",
)

NOTES = (
    "Spoke with {contact}: budget is approved for next quarter, they want a phased rollout.",
    "{contact} asked for references from companies in the same industry.",
    "Demo went well. Main concern is the migration effort from their current tool.",
    "Procurement wants a 3-year term in exchange for a discount; checking with finance.",
    "Competitor is cheaper but lacks the reporting they need. Emphasise forecast accuracy.",
    "Their IT team needs SSO and an on-premise option; follow up with the solutions engineer.",
    "{contact} is out until the end of the month; decision expected after that.",
    "Sent revised pricing. They liked the support plan bundle.",
    "Legal review started. Expect redlines on liability and data processing terms.",
    "Met the new VP of Operations; she wants to see the roadmap before committing.",
)

MEETINGS = ("Discovery call", "Product demo", "Pricing review", "Contract walkthrough", "Kickoff meeting", "Quarterly check-in")

TEAM = (
    ("ava", "Ava Chen", "manager"),
    ("ben", "Ben Okafor", "member"),
    ("carmen", "Carmen Ruiz", "member"),
    ("dmitri", "Dmitri Petrov", "member"),
    ("elif", "Elif Yilmaz", "member"),
)

SALES_ROT_DAYS = (14, 14, 10, 14, 21, 10, None, None, None)

PARTNER_PIPELINE = (
    "Partnerships",
    [
        ("Prospect", 10, "open"),
        ("Intro Call", 25, "open"),
        ("Pilot", 50, "open"),
        ("Agreement Drafted", 80, "open"),
        ("Signed", 100, "won"),
        ("Declined", 0, "lost"),
    ],
)
