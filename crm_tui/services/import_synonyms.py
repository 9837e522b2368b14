"""The tables import_columns matches a file's header against: pure data, no logic.

It holds each record type's standard import targets (key, label, help) and which are required, the
header names that mean each target (`SYNONYMS`, and the weaker `WEAK` ones that count only when no
column names the target better), the export prefixes that name the record type itself
(`PREFIXES`), and the help shown for custom fields by type (`CUSTOM_HELP`).

To add a synonym, append the header name to the "|"-separated string of its target in `SYNONYMS`
(or to a shared group such as `_EMAIL` when it means the same for several record types). Write it
as a file would; names are compared after `import_columns.normalise_header`, so case, accents,
punctuation and spacing do not matter. A name that is only a fallback (a mobile number for a
phone) goes in `WEAK`. A name must mean one target per record type: the tests check
`import_columns.synonym_clashes()` stays empty.
"""

from __future__ import annotations

_USER = "login, e-mail or name of a user"
_TAGS = "tags separated by , or ;"
_NAME_PARTS = (
    ("first_name", "First name", "given name"),
    ("last_name", "Last name", "family name"),
    ("full_name", "Full name", "whole name, split into first and last name"),
)
STANDARD: dict[str, tuple[tuple[str, str, str], ...]] = {
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
        ("created_at", "Created", "when the deal was created: a date, with a time if it has one (default: now)"),
        ("closed_at", "Closed", "when a won or lost deal closed (default: its expected close date if past, else now)"),
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
"""Each record type's standard targets as (key, label, help), in the order they are offered."""

REQUIRED = {("company", "name"), ("deal", "title"), ("task", "title"), ("note", "body")}
"""The (record type, key) targets a mapping must fill."""

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
SYNONYMS: dict[str, dict[str, str]] = {
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
        "created_at": (
            "Created|Created at|Created on|Created date|Create date|Creation date|Date created|Deal created|"
            "Deal created on|Add time|Erstellt|Erstellt am|Erstellungsdatum|Angelegt am|Date de création|Créé le|"
            "Fecha de creación|Creado|Creado el|Data di creazione|Creato il|Aangemaakt|Aangemaakt op|Aanmaakdatum|"
            "Data de criação|Criado em"
        ),
        "closed_at": (
            "Closed|Closed at|Closed on|Closed date|Date closed|Close time|Deal closed|Deal closed on|Actual close date|"
            "Won time|Won date|Won on|Lost time|Lost date|Abgeschlossen am|Gewonnen am|Verloren am|Clôturé le|"
            "Date de fermeture|Cerrado el|Fecha de cierre real|Chiuso il|Gesloten op|Fechado em"
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

WEAK: dict[str, dict[str, str]] = {
    "company": {"phone": _MOBILE, "owner": _ASSIGNED},
    "contact": {"phone": _MOBILE, "owner": _ASSIGNED},
    "lead": {"phone": _MOBILE, "owner": _ASSIGNED},
    "deal": {"owner": _ASSIGNED, "amount": "Amount in company currency|Expected revenue"},
}
"""Names that mean a target only when no column names it better (a mobile number is a phone)."""

PREFIXES = {
    "company": ("organization", "organisation", "org", "company", "account"),
    "contact": ("person", "contact"),
    "lead": ("lead", "person"),
    "deal": ("deal", "opportunity"),
    "task": ("task", "activity"),
    "note": ("note",),
}
"""Export prefixes naming the record type itself ("Deal - Value" in a deal export is "Value")."""

CUSTOM_HELP = {
    "text": "text", "long_text": "text (may span lines)", "email": "e-mail address", "phone": "phone number",
    "url": "web address", "address": "postal address", "number": "a number", "percent": "a percentage",
    "currency": "an amount of money", "rating": "0 to 5 stars", "date": "a date", "datetime": "a date and time",
    "checkbox": "yes or no", "user": _USER,
}  # fmt: skip
"""Help shown for a custom field of each type (dropdown, multi-select and reference are built)."""
