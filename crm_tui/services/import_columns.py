"""What an import column can map to, and which mapping a file's header suggests.

Suggestions come from exact header names only: synonyms in seven languages, the column names of
common CRM exports (HubSpot, Pipedrive, Salesforce, Zoho, Google Contacts), crm-tui's own list
labels (so an export imports back unchanged) and the custom fields' labels and keys. There is no
fuzzy matching: a wrong guess costs the user more than a column left for them to choose.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from crm_tui.services import custom_fields, list_fields
from crm_tui.services.custom_field_types import RECORD_MODELS, FieldDef
from crm_tui.services.errors import ServiceError

ENTITIES = ("company", "contact", "lead", "deal", "task", "note")
"""The record types a file can be imported into."""

PLURALS = {
    "companies": "company", "contacts": "contact", "leads": "lead", "deals": "deal", "tasks": "task", "notes": "note",
}  # fmt: skip
"""The plural the CLI takes (`crm import contacts FILE`) -> the record type."""


@dataclass(frozen=True)
class ImportTarget:
    """A field an import column can fill."""

    key: str
    label: str
    required: bool
    help: str


_USER = "login, e-mail or name of a user"
_TAGS = "tags separated by , or ;"
_NAME_PARTS = (
    ("first_name", "First name", "given name"),
    ("last_name", "Last name", "family name"),
    ("full_name", "Full name", "whole name, split into first and last name"),
)
_STANDARD: dict[str, tuple[tuple[str, str, str], ...]] = {
    "company": (
        ("name", "Name", "the company's name"), ("domain", "Domain", "web domain such as example.com; matches companies"),
        ("website", "Website", "web address"), ("phone", "Phone", "phone number"),
        ("address", "Address", "postal address (may span lines)"), ("industry", "Industry", "industry or sector"),
        ("employees", "Employees", "number of employees"), ("owner", "Owner", _USER), ("tags", "Tags", _TAGS),
    ),
    "contact": (
        *_NAME_PARTS, ("email", "Email", "e-mail address; matches contacts"), ("phone", "Phone", "phone number"),
        ("title", "Job title", "job title or position"), ("address", "Address", "postal address (may span lines)"),
        ("source", "Source", "where the contact came from"), ("company", "Company", "name of their company"),
        ("company_domain", "Company domain", "web domain of their company; matches the company"),
        ("owner", "Owner", _USER), ("tags", "Tags", _TAGS),
    ),
    "lead": (
        *_NAME_PARTS, ("company_name", "Company", "name of the lead's company"), ("email", "Email", "e-mail address"),
        ("phone", "Phone", "phone number"), ("title", "Job title", "job title or position"),
        ("status", "Status", "new, working or unqualified"), ("source", "Source", "where the lead came from"),
        ("owner", "Owner", _USER), ("tags", "Tags", _TAGS),
    ),
    "deal": (
        ("title", "Title", "the deal's title"), ("amount", "Amount", "value in the deal's currency, such as 12500.00"),
        ("currency", "Currency", "currency code such as EUR"), ("pipeline", "Pipeline", "pipeline name"),
        ("stage", "Stage", "stage name in the pipeline"), ("status", "Status", "open, won or lost"),
        ("lost_reason", "Lost reason", "why the deal was lost"), ("expected_close", "Expected close", "date"),
        ("probability", "Probability", "chance to win, 0-100 %"), ("source", "Source", "where the deal came from"),
        ("company", "Company", "name of the company"), ("company_domain", "Company domain", "web domain of the company"),
        ("contact", "Contact", "name of the main contact"), ("contact_email", "Contact email", "e-mail of the main contact"),
        ("owner", "Owner", _USER), ("tags", "Tags", _TAGS),
    ),
    "task": (
        ("title", "Title", "what to do"), ("details", "Details", "longer description (may span lines)"),
        ("due_at", "Due", "due date, with a time if it has one"), ("done", "Done", "yes/no, true/false or 1/0"),
        ("assignee", "Assignee", _USER), ("deal", "Deal", "title of the linked deal"),
        ("company", "Company", "name of the linked company"), ("contact_email", "Contact email", "e-mail of the linked contact"),
    ),
    "note": (
        ("body", "Text", "the note (may span lines)"), ("deal", "Deal", "title of the linked deal"),
        ("company", "Company", "name of the linked company"), ("contact_email", "Contact email", "e-mail of the linked contact"),
        ("author", "Author", _USER),
    ),
}  # fmt: skip
_REQUIRED = {("company", "name"), ("deal", "title"), ("task", "title"), ("note", "body")}

# Synonym groups, "|"-separated, matched after normalise_header(); shared by several record types.
_FIRST = "First name|Firstname|First|Given name|Givenname|Forename|Vorname|Prénom|Nombre|Nombre de pila|Nome|Primeiro nome|Voornaam"
_LAST = (
    "Last name|Lastname|Last|Surname|Family name|Familyname|Nachname|Familienname|Nom|Nom de famille|Apellido|Apellidos|"
    "Apellido(s)|Cognome|Sobrenome|Apelido|Último nome|Achternaam"
)
_FULL = "Name|Full name|Fullname|Display name|Vollständiger Name|Nom complet|Nombre completo|Nome completo|Naam|Volledige naam"
_PERSON = "Contact|Contact name|Contact person|Person|Ansprechpartner|Kontakt|Kontaktperson|Interlocuteur|Contacto|Contatto|Referente|Contactpersoon|Contato"
_EMAIL = (
    "Email|E-mail|Mail|Email address|Emailaddress|Primary email|Work email|Business email|Email 1|E-mail 1 - Value|"
    "E-Mail-Adresse|Mailadresse|Courriel|Adresse e-mail|Adresse mail|Adresse électronique|Mél|Correo|Correo electrónico|"
    "Correo-e|Dirección de correo|Dirección de correo electrónico|Indirizzo email|Posta elettronica|E-mailadres|"
    "Endereço de e-mail|Endereço de email"
)
_CONTACT_EMAIL = f"{_EMAIL}|Contact email|Contact e-mail|Person email|Person - Email|Associated contact email"
_PHONE = (
    "Phone|Phone number|Telephone|Telephone number|Tel|Work phone|Business phone|Office phone|Primary phone|Phone 1|"
    "Phone 1 - Value|Telefon|Telefonnummer|Tel.-Nr.|Rufnummer|Téléphone|Tél|Numéro de téléphone|Teléfono|"
    "Número de teléfono|Telefono|Numero di telefono|Telefone|Número de telefone|Telefoon|Telefoonnummer"
)
_MOBILE = (
    "Mobile|Mobile phone|Mobile phone number|Mobile number|Cell|Cell phone|Cellphone|Handy|Handynummer|Mobil|"
    "Mobiltelefon|Mobilnummer|Portable|Téléphone portable|Móvil|Teléfono móvil|Celular|Cellulare|Mobiel|Telemóvel"
)
_JOB = (
    "Title|Job title|Jobtitle|Job|Position|Role|Job role|Organization 1 - Title|Organization title|Jobtitel|"
    "Berufsbezeichnung|Funktion|Stellung|Poste|Fonction|Intitulé du poste|Cargo|Puesto|Qualifica|Ruolo|Mansione|"
    "Functie|Functietitel|Função"
)
_ADDRESS = (
    "Address|Street|Street address|Full address|Postal address|Mailing address|Mailing street|Billing address|"
    "Billing street|Business address|Business street|Address 1 - Formatted|Address 1 - Street|Adresse|Anschrift|Straße|"
    "Postanschrift|Adresse postale|Rue|Dirección|Calle|Domicilio|Indirizzo|Via|Adres|Straat|Endereço|Morada|Rua"
)
_COMPANY = (
    "Company|Company name|Organization|Organisation|Organization name|Organization 1 - Name|Organization - Name|"
    "Account|Account name|Associated company|Associated Company (Primary)|Employer|Firma|Firmenname|Unternehmen|"
    "Unternehmensname|Société|Nom de la société|Entreprise|Nom de l'entreprise|Raison sociale|Empresa|"
    "Nombre de la empresa|Compañía|Azienda|Società|Ragione sociale|Nome azienda|Bedrijf|Bedrijfsnaam|Organisatie|"
    "Nome da empresa|Organização"
)
_DOMAIN = "Domain|Domain name|Company domain|Company Domain Name|Website domain|Email domain|Domäne|Domaine|Nom de domaine|Dominio|Domein|Domínio"
_WEBSITE = (
    "Website|Web site|Website URL|URL|Web|Homepage|Home page|Webseite|Internetseite|Internetadresse|Site web|"
    "Site internet|Site|Sitio web|Página web|Sito web|Sito"
)
_INDUSTRY = (
    "Industry|Sector|Branche|Industrie|Wirtschaftszweig|Secteur|Secteur d'activité|Industria|Settore|Rubro|Setor|Ramo"
)
_EMPLOYEES = (
    "Employees|Number of employees|Employee count|No. of employees|Headcount|Company size|Size|Mitarbeiter|"
    "Mitarbeiterzahl|Anzahl Mitarbeiter|Beschäftigte|Employés|Effectif|Nombre d'employés|Nombre de salariés|Empleados|"
    "Número de empleados|Dipendenti|Numero di dipendenti|Medewerkers|Aantal medewerkers|Werknemers|Funcionários|"
    "Número de funcionários|Empregados"
)
_OWNER = (
    "Owner|Record owner|Contact owner|Company owner|Deal owner|Lead owner|Account owner|Opportunity owner|"
    "HubSpot owner|Sales rep|Sales owner|Salesperson|Account manager|Besitzer|Verantwortlich|Verantwortlicher|Zuständig|"
    "Betreuer|Kundenbetreuer|Vertriebsmitarbeiter|Propriétaire|Responsable|Commercial|Chargé de compte|Propietario|"
    "Vendedor|Comercial|Proprietario|Responsabile|Commerciale|Eigenaar|Verantwoordelijke|Accountmanager|Proprietário|"
    "Responsável"
)
_ASSIGNED = "Assigned to|Assigned to user|Assignee|Zugewiesen an|Bearbeiter|Assigné à|Asignado a|Assegnato a|Toegewezen aan|Atribuído a"
_SOURCE = (
    "Source|Lead source|Contact source|Deal source|Original source|Lead origin|Quelle|Herkunft|Lead-Quelle|"
    "Akquisequelle|Origine|Source du lead|Provenance|Fuente|Origen|Fuente del lead|Fonte|Provenienza|Bron|Herkomst|"
    "Leadbron|Origem"
)
_TAGS_WORDS = (
    "Tags|Tag|Labels|Label|Keywords|Schlagworte|Schlagwörter|Stichworte|Étiquettes|Mots-clés|Etiquetas|Etichette|"
    "Parole chiave|Etiketten|Trefwoorden"
)
_STATUS = "Status|Statut|Estado|Stato|Situação"
_DEAL_TITLE = (
    "Title|Name|Deal|Deal name|Deal title|Opportunity|Opportunity name|Titel|Bezeichnung|Verkaufschance|Geschäft|"
    "Titre|Affaire|Nom de l'affaire|Opportunité|Título|Negocio|Nombre del negocio|Oportunidad|Trato|Titolo|"
    "Trattativa|Opportunità|Verkoopkans|Negócio|Oportunidade|Nome do negócio"
)
_DEAL_LINK = (
    "Deal|Deal name|Deal title|Related deal|Opportunity|Opportunity name|Geschäft|Verkaufschance|Affaire|Opportunité|"
    "Negocio|Oportunidad|Trattativa|Opportunità|Verkoopkans|Negócio|Oportunidade"
)
_SYNONYMS: dict[str, dict[str, str]] = {
    "company": {
        "name": f"{_COMPANY}|Name|Nom|Nombre|Nome|Naam", "domain": _DOMAIN, "website": _WEBSITE, "phone": _PHONE,
        "address": _ADDRESS, "industry": _INDUSTRY, "employees": f"{_EMPLOYEES}|Staff", "owner": _OWNER, "tags": _TAGS_WORDS,
    },
    "contact": {
        "first_name": _FIRST, "last_name": _LAST, "full_name": f"{_FULL}|{_PERSON}", "email": _EMAIL, "phone": _PHONE,
        "title": _JOB, "address": _ADDRESS, "source": _SOURCE, "company": _COMPANY, "company_domain": _DOMAIN,
        "owner": _OWNER, "tags": _TAGS_WORDS,
    },
    "lead": {
        "first_name": _FIRST, "last_name": _LAST, "full_name": f"{_FULL}|{_PERSON}|Lead|Lead name", "company_name": _COMPANY,
        "email": _EMAIL, "phone": _PHONE, "title": _JOB, "status": f"{_STATUS}|Lead status|Statut du lead|Leadstatus",
        "source": _SOURCE, "owner": _OWNER, "tags": _TAGS_WORDS,
    },
    "deal": {
        "title": _DEAL_TITLE,
        "amount": (
            "Amount|Value|Deal value|Deal amount|Opportunity amount|Revenue|Betrag|Wert|Summe|Volumen|Auftragswert|"
            "Montant|Valeur|Montant de l'affaire|Importe|Valor|Monto|Importo|Valore|Bedrag|Waarde|Montante"
        ),
        "currency": "Currency|Deal currency|Currency code|Währung|Devise|Monnaie|Moneda|Divisa|Valuta|Moeda",
        "pipeline": (
            "Pipeline|Sales pipeline|Pipeline name|Vertriebspipeline|Verkaufspipeline|Pipeline de vente|"
            "Pipeline de ventas|Embudo|Embudo de ventas|Funil|Funil de vendas|Pijplijn|Verkooppijplijn"
        ),
        "stage": (
            "Stage|Deal stage|Sales stage|Stage name|Phase|Stufe|Verkaufsphase|Deal-Phase|Étape|Étape de la transaction|"
            "Étape de vente|Étape de l'affaire|Etapa|Etapa del negocio|Fase|Fase di vendita|Stadium|Estágio|Etapa do negócio"
        ),
        "status": f"{_STATUS}|Deal status|Won/Lost",
        "lost_reason": (
            "Lost reason|Reason lost|Loss reason|Closed lost reason|Reason for loss|Verlustgrund|Absagegrund|"
            "Raison de la perte|Motif de perte|Motivo de pérdida|Razón de pérdida|Motivo della perdita|Reden van verlies|"
            "Reden verlies|Motivo da perda"
        ),
        "expected_close": (
            "Expected close|Expected close date|Close date|Closing date|Close|Estimated close date|Expected closing date|"
            "Abschlussdatum|Erwartetes Abschlussdatum|Voraussichtlicher Abschluss|Date de clôture|Date de clôture prévue|"
            "Date de conclusion|Fecha de cierre|Fecha prevista de cierre|Fecha estimada de cierre|Data di chiusura|"
            "Data di chiusura prevista|Verwachte sluitingsdatum|Sluitingsdatum|Data de fechamento|"
            "Data prevista de fechamento|Data de fecho"
        ),
        "probability": (
            "Probability|Probability (%)|Deal probability|Win probability|Wahrscheinlichkeit|Abschlusswahrscheinlichkeit|"
            "Probabilité|Probabilidad|Probabilità|Waarschijnlijkheid|Kans|Probabilidade"
        ),
        "source": _SOURCE, "company": _COMPANY, "company_domain": _DOMAIN,
        "contact": f"{_PERSON}|Person - Name|Person name|Primary contact|Associated contact|Contact principal|"
        "Persona de contacto|Pessoa de contato",
        "contact_email": _CONTACT_EMAIL, "owner": _OWNER, "tags": _TAGS_WORDS,
    },
    "task": {
        "title": (
            "Title|Name|Subject|Task|Task name|Task title|Betreff|Aufgabe|Titel|Objet|Tâche|Titre|Sujet|Asunto|Tarea|"
            "Título|Oggetto|Attività|Titolo|Compito|Onderwerp|Taak|Assunto|Tarefa"
        ),
        "details": (
            "Details|Description|Notes|Note|Body|Comments|Comment|Beschreibung|Notiz|Notizen|Kommentar|Détails|Remarques|"
            "Commentaire|Descripción|Notas|Detalles|Descrizione|Dettagli|Beschrijving|Notities|Opmerkingen|Descrição|"
            "Observações|Detalhes"
        ),
        "due_at": (
            "Due|Due date|Due at|Due time|Deadline|Date|Activity date|Task due date|Fällig|Fällig am|Fälligkeit|"
            "Fälligkeitsdatum|Échéance|Date d'échéance|Date limite|Fecha de vencimiento|Vencimiento|Fecha límite|Scadenza|"
            "Data di scadenza|Vervaldatum|Data de vencimento|Prazo"
        ),
        "done": (
            "Done|Completed|Complete|Is done|Finished|Erledigt|Fertig|Abgeschlossen|Terminé|Fait|Hecho|Completado|"
            "Completada|Terminado|Fatto|Completato|Gedaan|Voltooid|Klaar|Concluído|Feito"
        ),
        "assignee": f"{_ASSIGNED}|{_OWNER}|Task owner|Assigned user|User",
        "deal": _DEAL_LINK, "company": _COMPANY, "contact_email": _CONTACT_EMAIL,
    },
    "note": {
        "body": (
            "Note|Notes|Body|Content|Text|Comment|Comments|Details|Description|Note body|Notiz|Notizen|Inhalt|Kommentar|"
            "Bemerkung|Contenu|Texte|Commentaire|Remarque|Nota|Notas|Contenido|Texto|Comentario|Contenuto|Testo|Commento|"
            "Notitie|Inhoud|Opmerking|Conteúdo|Comentário|Observação"
        ),
        "author": (
            "Author|Created by|Written by|User|Owner|Autor|Verfasser|Erstellt von|Auteur|Créé par|Rédigé par|Creado por|"
            "Autore|Creato da|Gemaakt door|Criado por"
        ),
        "deal": _DEAL_LINK, "company": _COMPANY, "contact_email": _CONTACT_EMAIL,
    },
}  # fmt: skip
"""Each record type's targets and the header names that mean them."""

_WEAK: dict[str, dict[str, str]] = {
    "company": {"phone": _MOBILE, "owner": _ASSIGNED},
    "contact": {"phone": _MOBILE, "owner": _ASSIGNED},
    "lead": {"phone": _MOBILE, "owner": _ASSIGNED},
    "deal": {"owner": _ASSIGNED, "amount": "Amount in company currency|Expected revenue"},
}
"""Names that mean a target only when no column names it better (a mobile number is a phone)."""

_PREFIXES = {
    "company": ("organization", "organisation", "org", "company", "account"),
    "contact": ("person", "contact"),
    "lead": ("lead", "person"),
    "deal": ("deal", "opportunity"),
    "task": ("task", "activity"),
    "note": ("note",),
}
"""Export prefixes naming the record type itself ("Deal - Value" in a deal export is "Value")."""

_LIST_KEYS = {("contact", "name"): "full_name", ("lead", "name"): "full_name"}
"""crm-tui list columns whose import target has another key."""

_KEY_SUFFIX = re.compile(r"\((custom\.\w+)\)\s*$")

_CUSTOM_HELP = {
    "text": "text", "long_text": "text (may span lines)", "email": "e-mail address", "phone": "phone number",
    "url": "web address", "address": "postal address", "number": "a number", "percent": "a percentage",
    "currency": "an amount of money", "rating": "0 to 5 stars", "date": "a date", "datetime": "a date and time",
    "checkbox": "yes or no", "user": _USER,
}  # fmt: skip


def normalise_header(text: str) -> str:
    """A header name reduced for matching: camelCase split, case folded, accents removed, and
    punctuation, underscores and spaces collapsed ("E-Mail Adresse" -> "e mail adresse")."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(char for char in text if not unicodedata.combining(char))
    return re.sub(r"[\W_]+", " ", text).strip()


def entity_of(word: str) -> str:
    """The record type a CLI word names ("contacts" or "contact"); a ServiceError for others."""
    entity = PLURALS.get(word.strip().lower(), word.strip().lower())
    if entity not in ENTITIES:
        raise ServiceError(f"cannot import {word!r}: choose one of {', '.join(PLURALS)}")
    return entity


def targets(entity: str) -> list[ImportTarget]:
    """The fields a column can fill for `entity`: the standard ones, then the custom fields that
    take typed values (formula, lookup and auto-number fields are computed). Needs an open database."""
    entity = entity_of(entity)
    result = [ImportTarget(key, label, (entity, key) in _REQUIRED, hint) for key, label, hint in _STANDARD[entity]]
    for fd in _custom_defs(entity):
        result.append(ImportTarget(f"custom.{fd.key}", fd.label, False, _custom_help(fd)))
    return result


def _custom_defs(entity: str) -> list[FieldDef]:
    if entity not in RECORD_MODELS:
        return []
    return [fd for fd in custom_fields.definitions(entity) if not fd.read_only]


def _custom_help(fd: FieldDef) -> str:
    options = ", ".join(fd.options[:6]) + (", …" if len(fd.options) > 6 else "")
    if fd.type == "dropdown":
        hint = f"one of {options}"
    elif fd.type == "multi_select":
        hint = f"some of {options}, separated by , or ;"
    elif fd.type == "reference":
        hint = f"name of a {fd.reference_entity or 'record'}"
    else:
        hint = _CUSTOM_HELP.get(fd.type, fd.type.replace("_", " "))
    return f"{hint} (required)" if fd.required else hint


def suggest(entity: str, header: list[str]) -> dict[int, str]:
    """Column index -> target key for the columns whose names `entity` recognises, each target
    used once (the better-named column wins). Needs an open database (for the custom fields)."""
    entity = entity_of(entity)
    tables = _tables(entity)
    prefixes = _PREFIXES[entity]
    candidates: list[tuple[int, int, str]] = []
    allowed = set(tables[0].values())
    for index, text in enumerate(header):
        name = normalise_header(text)
        keyed = _KEY_SUFFIX.search(text)
        if keyed and keyed.group(1) in allowed:  # crm-tui's export names a clashing label "Phone (custom.phone)"
            candidates.append((0, index, keyed.group(1)))
            continue
        found = _lookup(name, tables)
        if found is None:
            rest = next((name[len(p) + 1 :] for p in prefixes if name.startswith(p + " ")), "")
            found = _lookup(rest, tables)
            if found is not None:  # a prefixed name ranks below every exact one
                found = (found[0] + len(tables), found[1])
        if found is not None:
            candidates.append((found[0], index, found[1]))
    chosen: dict[int, str] = {}
    for _rank, index, key in sorted(candidates):
        if key not in chosen.values():
            chosen[index] = key
    if {"first_name", "last_name"} & set(chosen.values()):
        # Google Contacts has "Name", "Given Name" and "Family Name": the parts are the better source.
        chosen = {index: key for index, key in chosen.items() if key != "full_name"}
    return dict(sorted(chosen.items()))


def _lookup(name: str, tables: list[dict[str, str]]) -> tuple[int, str] | None:
    if not name:
        return None
    for rank, table in enumerate(tables):
        if name in table:
            return rank, table[name]
    return None


def _tables(entity: str) -> list[dict[str, str]]:
    """Normalised name -> target key, best source first: the target keys themselves (the header
    of crm-tui's full export), crm-tui's list labels, the custom fields' labels and keys, the
    synonyms, the weaker synonyms."""
    keys = {normalise_header(target.key): target.key for target in targets(entity)}
    allowed = set(keys.values())
    own: dict[str, str] = {}
    if entity in list_fields.LABELS:
        for column in list_fields.entity_list(entity).columns:
            key = _LIST_KEYS.get((entity, column.key), column.key)
            if key in allowed:
                own.setdefault(normalise_header(column.label), key)
    custom: dict[str, str] = {}
    for fd in _custom_defs(entity):
        custom.setdefault(normalise_header(fd.label), f"custom.{fd.key}")
        custom.setdefault(normalise_header(fd.key), f"custom.{fd.key}")
    return [keys, own, custom, _static("strong", entity), _static("weak", entity)]


@cache
def _static(strength: str, entity: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for key, names in (_SYNONYMS if strength == "strong" else _WEAK).get(entity, {}).items():
        for name in names.split("|"):
            table.setdefault(normalise_header(name), key)
    return table


def synonym_clashes() -> list[str]:
    """Header names listed for two different targets of one record type (for the tests: each
    name must mean one thing, or the first listed would win silently)."""
    clashes = []
    for source in (_SYNONYMS, _WEAK):
        for entity, by_key in source.items():
            seen: dict[str, str] = {}
            for key, names in by_key.items():
                for name in {normalise_header(name) for name in names.split("|")}:
                    if seen.setdefault(name, key) != key:
                        clashes.append(f"{entity}: {name!r} means {seen[name]} and {key}")
    return clashes
