#!/usr/bin/env python3
"""Generate the example intent datasets for modelship (PratikoAI questions).

    python3 examples/data/generate_feedback.py [--seed 7] [--out-dir examples/data]

Writes three files next to this script (or into --out-dir):

* feedback.jsonl     - the training file (~1,600 clean rows, five labels);
* feedback-raw.jsonl - the same rows with 5 malformed lines and 3 rows with
  unknown labels spread in, to show validation (modelship refuses the file,
  the trainer skips and reports those lines);
* heldout.jsonl      - ~320 clean rows used only for evaluation.

Honesty of the held-out set: every label has two *disjoint* template pools
(train / heldout); a slice of the topics, professions, countries, acronyms,
laws and cities is only ever used in held-out rows; and each held-out row is
rejected if its normalised text equals a training row, or if it is a
near-copy of any training row or earlier held-out row: word-set (digits
dropped) Jaccard >= 0.75, or a character similarity (difflib ratio) >= 0.85.
HELDOUT_ONLY_WORDS freezes the words of the held-out templates that no
training template used when they were written; the generator refuses to run
if a training template (or hand-written training row) uses one, so the
held-out wording stays unseen when the training pool grows.

Standard library only; the output is a pure function of --seed.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import random
import re
import sys
import unicodedata

LABELS = [
    "chitchat",
    "theoretical_definition",
    "technical_research",
    "calculator",
    "normative_reference",
]

N_TRAIN_PER_LABEL = 320
N_HELDOUT_PER_LABEL = 62

# --------------------------------------------------------------------------
# Slot values. Topics carry their Italian article so that articulated
# prepositions ("del", "dell'", "sulla", ...) come out right.
# --------------------------------------------------------------------------

ARTICLES = {
    #        def    di        a        su        in        da
    "il": ("il ", "del ", "al ", "sul ", "nel ", "dal "),
    "lo": ("lo ", "dello ", "allo ", "sullo ", "nello ", "dallo "),
    "la": ("la ", "della ", "alla ", "sulla ", "nella ", "dalla "),
    "l": ("l'", "dell'", "all'", "sull'", "nell'", "dall'"),
    "i": ("i ", "dei ", "ai ", "sui ", "nei ", "dai "),
    "gli": ("gli ", "degli ", "agli ", "sugli ", "negli ", "dagli "),
    "le": ("le ", "delle ", "alle ", "sulle ", "nelle ", "dalle "),
}

# (bare name, article). Concepts usable in "what is", "how do I handle" and
# "which law governs" questions alike, so the topic itself never gives away
# the label.
CONCEPTS_TRAIN = [
    ("regime forfettario", "il"), ("IVA", "l"), ("IRPEF", "l"), ("IRES", "l"),
    ("IRAP", "l"), ("IMU", "l"), ("TARI", "la"), ("split payment", "lo"),
    ("reverse charge", "il"), ("fattura elettronica", "la"), ("esterometro", "l"),
    ("ravvedimento operoso", "il"), ("superbonus", "il"), ("cedolare secca", "la"),
    ("TFR", "il"), ("gestione separata INPS", "la"), ("ritenuta d'acconto", "la"),
    ("credito d'imposta", "il"), ("rottamazione quater", "la"),
    ("concordato preventivo biennale", "il"), ("flat tax incrementale", "la"),
    ("regime dei minimi", "il"), ("IVA per cassa", "l"), ("plafond IVA", "il"),
    ("dichiarazione d'intento", "la"), ("autofattura", "l"), ("regime del margine", "il"),
    ("bollo virtuale", "il"), ("visto di conformità", "il"), ("interpello", "l"),
    ("accertamento con adesione", "l"), ("avviso bonario", "l"), ("cartella esattoriale", "la"),
    ("contributo integrativo", "il"), ("imposta di registro", "l"), ("imposta di bollo", "l"),
    ("plusvalenze immobiliari", "le"), ("redditi diversi", "i"), ("patent box", "il"),
    ("nota di variazione IVA", "la"), ("compensazione orizzontale", "la"),
    ("sismabonus", "il"), ("ecobonus", "l"), ("bonus ristrutturazioni", "il"),
    ("assegno unico", "l"), ("detrazioni per familiari a carico", "le"),
    ("IVAFE", "l"), ("IVIE", "l"), ("indici sintetici di affidabilità", "gli"),
    ("liquidazione IVA trimestrale", "la"), ("acconto IVA", "l"), ("saldo IRPEF", "il"),
    ("codice ATECO", "il"), ("partita IVA", "la"), ("contabilità semplificata", "la"),
    ("contabilità ordinaria", "la"), ("estromissione dei beni", "l"),
    ("trasparenza fiscale", "la"), ("consolidato fiscale", "il"),
    ("regime OSS", "il"), ("scissione dei pagamenti", "la"), ("sanatoria delle irregolarità formali", "la"),
    ("dichiarazione precompilata", "la"), ("fondo perduto", "il"), ("credito IVA", "il"),
    ("deducibilità delle auto aziendali", "la"), ("welfare aziendale", "il"),
    ("fringe benefit", "i"), ("bonus mobili", "il"),
]

CONCEPTS_HELDOUT_ONLY = [
    ("imposta sostitutiva sui premi di risultato", "l"), ("regime IOSS", "il"),
    ("super deduzione per nuove assunzioni", "la"), ("tassazione separata", "la"),
    ("transfer pricing", "il"), ("stabile organizzazione", "la"), ("exit tax", "l"),
    ("rivalutazione dei terreni", "la"), ("esterovestizione", "l"),
    ("credito d'imposta ricerca e sviluppo", "il"), ("bonus facciate", "il"),
    ("imposta sulle successioni", "l"), ("regime degli impatriati", "il"),
    ("conto corrente dedicato", "il"), ("fatturazione differita", "la"),
]

# Taxes (for "difference between X and Y", "who pays X", "pay X").
TAXES_TRAIN = [
    ("IVA", "l"), ("IRPEF", "l"), ("IRES", "l"), ("IRAP", "l"), ("IMU", "l"),
    ("TARI", "la"), ("cedolare secca", "la"), ("imposta di registro", "l"),
    ("imposta di bollo", "l"), ("IVAFE", "l"), ("addizionale regionale", "l"),
    ("imposta sostitutiva", "l"), ("TASI", "la"),
]
TAXES_HELDOUT_ONLY = [
    ("IVIE", "l"), ("addizionale comunale", "l"), ("imposta ipotecaria", "l"),
    ("imposta catastale", "l"), ("tassa sui rifiuti", "la"),
]

# Forms and filings.
FORMS_TRAIN = [
    ("modello F24", "il"), ("730", "il"), ("modello Redditi PF", "il"), ("modello Redditi SC", "il"),
    ("CU", "la"), ("dichiarazione IVA", "la"), ("LIPE", "le"), ("modello 770", "il"),
    ("dichiarazione IRAP", "la"), ("modello EAS", "il"), ("dichiarazione di successione", "la"),
    ("modello Redditi SP", "il"), ("F24 ELIDE", "l"), ("modello RLI", "il"),
]
FORMS_HELDOUT_ONLY = [
    ("modello Redditi ENC", "il"), ("modello INTRA", "il"), ("dichiarazione IMU", "la"),
    ("modello TR", "il"), ("730 congiunto", "il"),
]

QUADRI = ["RW", "RT", "LM", "RN", "E", "VE", "VJ", "RS", "RE", "RH", "RL", "RM", "RP"]
QUADRI_HELDOUT_ONLY = ["RX", "RF", "RG", "VL"]

ACRONYMS_TRAIN = ["ISA", "SDI", "CU", "IRAP", "IRES", "IVAFE", "LIPE", "TFR", "PEC", "SPID",
                  "OSS", "DURC", "CCIAA", "ATECO", "RAL", "IRPEF", "TUIR", "OIC", "CPB",
                  "SAL", "DPR", "REA"]
ACRONYMS_HELDOUT_ONLY = ["IOSS", "IVIE", "UNILAV", "DSU", "ISEE", "CIN", "SCIA", "NASpI"]

ACCOUNTING_TRAIN = [
    ("rateo", "il"), ("risconto", "il"), ("ammortamento", "l"), ("accantonamento", "l"),
    ("fondo rischi", "il"), ("avviamento", "l"), ("capitale circolante netto", "il"),
    ("partita doppia", "la"), ("stato patrimoniale", "lo"), ("conto economico", "il"),
    ("rendiconto finanziario", "il"), ("nota integrativa", "la"), ("patrimonio netto", "il"),
    ("utile d'esercizio", "l"), ("fattura da ricevere", "la"), ("cespite", "il"),
]
ACCOUNTING_HELDOUT_ONLY = [
    ("EBITDA", "l"), ("leasing finanziario", "il"), ("fondo svalutazione crediti", "il"),
    ("riserva legale", "la"), ("margine di contribuzione", "il"),
]

PRINCIPLES_TRAIN = ["competenza", "cassa", "prudenza", "continuità aziendale", "inerenza",
                    "capacità contributiva", "alternatività IVA-registro"]
PRINCIPLES_HELDOUT_ONLY = ["rilevanza", "prevalenza della sostanza sulla forma", "neutralità dell'IVA"]

ENTITIES_TRAIN = [
    ("SRL", "la"), ("SRL semplificata", "la"), ("SNC", "la"), ("SAS", "la"),
    ("ditta individuale", "la"), ("associazione sportiva dilettantistica", "l"),
    ("società tra professionisti", "la"), ("start-up innovativa", "la"), ("SPA", "la"),
]
ENTITIES_HELDOUT_ONLY = [
    ("cooperativa", "la"), ("impresa familiare", "l"), ("fondazione", "la"), ("SRL unipersonale", "la"),
]

PROFESSIONS_TRAIN = ["avvocato", "ingegnere", "psicologo", "architetto", "web designer",
                     "consulente informatico", "fisioterapista", "grafico", "idraulico",
                     "estetista", "medico", "geometra", "fotografo", "traduttore",
                     "agente di commercio", "personal trainer", "elettricista", "parrucchiere"]
PROFESSIONS_HELDOUT_ONLY = ["notaio", "veterinario", "copywriter", "osteopata", "tatuatore",
                            "interior designer"]

COUNTRIES_TRAIN = ["tedesco", "francese", "spagnolo", "statunitense", "svizzero", "inglese",
                   "olandese", "cinese", "austriaco", "belga"]
COUNTRIES_HELDOUT_ONLY = ["polacco", "giapponese", "portoghese", "canadese", "sammarinese"]

ACTIONS_TRAIN = [
    "recuperare un credito IVA", "rateizzare una cartella esattoriale", "chiudere la partita IVA",
    "fare il ravvedimento operoso", "aderire al concordato preventivo biennale",
    "richiedere il DURC", "delegare il cassetto fiscale", "inviare le LIPE",
    "aprire una SRL semplificata", "iscriversi alla gestione separata",
    "cambiare il codice ATECO", "chiedere il rimborso IVA", "registrare un contratto di affitto",
    "trasformare una SNC in SRL", "cedere il credito del superbonus", "annullare una fattura elettronica",
    "presentare un'istanza di autotutela", "aprire una posizione INAIL",
    "accreditarsi al cassetto fiscale per conto di un cliente", "sospendere la partita IVA",
]
ACTIONS_HELDOUT_ONLY = [
    "contestare un avviso di accertamento", "regolarizzare una fattura di acquisto irregolare",
    "ottenere la certificazione dei crediti", "modificare i dati della partita IVA",
    "mettere in liquidazione una SRL", "aprire una sede secondaria all'estero",
]

OPERATIONS_TRAIN = [
    "una nota di credito", "un leasing", "la vendita di un cespite", "un acconto da cliente",
    "le fatture di acquisto intracomunitarie", "un contributo a fondo perduto",
    "un finanziamento soci", "le spese di rappresentanza", "una perdita su crediti",
    "le rimanenze di magazzino", "un omaggio ai clienti", "la fattura di un fornitore estero",
]
OPERATIONS_HELDOUT_ONLY = [
    "una permuta", "un prestito obbligazionario", "le royalties incassate", "una donazione ricevuta",
]

IVA_CASES_TRAIN = [
    "acquisti di servizi da fornitori extra UE", "vendite online a privati UE",
    "prestazioni sanitarie", "cessioni di immobili strumentali", "l'affitto di un immobile commerciale",
    "corsi di formazione", "noleggio di auto a breve termine", "vendita di beni usati",
    "sponsorizzazioni sportive", "servizi di trasporto internazionale",
]
IVA_CASES_HELDOUT_ONLY = [
    "prestazioni didattiche", "cessioni di oro da investimento", "servizi di catering per eventi",
    "abbonamenti software venduti a clienti esteri",
]

EXPENSES_TRAIN = ["le spese veterinarie", "le spese per la palestra dei figli", "gli interessi del mutuo",
                  "le spese funebri", "gli occhiali da vista", "l'abbonamento ai mezzi pubblici",
                  "le spese universitarie", "le spese per la badante", "i farmaci da banco",
                  "le assicurazioni sulla vita"]
EXPENSES_HELDOUT_ONLY = ["le spese per l'asilo nido", "l'affitto per studenti fuori sede",
                         "le erogazioni liberali alle ONLUS", "le spese per dispositivi medici"]

PAYMENTS_TRAIN = ["l'IMU sulla seconda casa", "il ravvedimento IVA trimestrale", "l'acconto cedolare secca",
                  "il saldo IRAP", "il diritto camerale", "le ritenute sui dipendenti",
                  "l'imposta di bollo sulle fatture elettroniche", "il secondo acconto IRPEF",
                  "il saldo IVA annuale", "i contributi INPS artigiani"]
PAYMENTS_HELDOUT_ONLY = ["la tassa di concessione governativa sui libri sociali", "l'IVAFE sul conto estero",
                         "l'acconto IRES di giugno", "i contributi fissi commercianti"]

FORGOTTEN_HELDOUT = ["versare l'acconto di novembre", "inviare la dichiarazione IVA",
                     "emettere una fattura", "registrare un corrispettivo",
                     "comunicare le LIPE del secondo trimestre", "pagare il diritto camerale"]

MONTHS = ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "settembre",
          "ottobre", "novembre", "dicembre"]
YEARS = ["2019", "2020", "2021", "2022", "2023", "2024", "2025"]

CITIES = ["Milano", "Roma", "Napoli", "Torino", "Bologna", "Firenze", "Bari", "Palermo", "Verona",
          "Padova", "Genova", "Catania"]
CITIES_HELDOUT_ONLY = ["Trieste", "Cagliari", "Perugia", "Lecce", "Bergamo"]
NAMES = ["Marco", "Giulia", "Luca", "Francesca", "Paolo", "Chiara", "Andrea", "Sara", "Davide",
         "Elena", "Giorgio", "Martina"]
NAMES_HELDOUT_ONLY = ["Roberta", "Stefano", "Ilaria", "Fabio"]
SURNAMES = ["Rossi", "Bianchi", "Esposito", "Romano", "Colombo", "Ricci", "Marino", "Greco",
            "Bruno", "Gallo", "Conti", "De Luca"]
GREETINGS = ["Ciao", "Buongiorno", "Buonasera", "Salve", "Ehi", "Hey", "Buon pomeriggio", "Ehilà",
             "Ciao ciao", "Buondì"]
THANKS = ["Grazie", "Grazie mille", "Ti ringrazio", "Grazie davvero", "Grazie infinite", "Grazie tante"]

# Normative sources: (name, article) and articles/commas that make sense.
LAWS = [
    ("DPR 633/72", "il", ["1", "2", "3", "4", "6", "7-ter", "8", "10", "17", "17-ter", "19", "21", "26", "74"]),
    ("DPR 917/86", "il", ["5", "9", "44", "51", "54", "67", "68", "85", "88", "109", "164"]),
    ("TUIR", "il", ["10", "13", "15", "16-bis", "51", "54", "67", "95", "102", "108", "164"]),
    ("DPR 600/73", "il", ["22", "25", "29", "36-bis", "36-ter", "42", "43"]),
    ("D.Lgs. 241/97", "il", ["17", "17-bis", "19"]),
    ("D.Lgs. 446/97", "il", ["2", "3", "5", "11"]),
    ("D.Lgs. 472/97", "il", ["2", "3", "12", "13"]),
    ("D.Lgs. 471/97", "il", ["1", "5", "6", "13"]),
    ("codice civile", "il", ["2086", "2135", "2195", "2423", "2424", "2425", "2426", "2435-bis", "2478"]),
    ("Statuto del contribuente", "lo", ["6", "10", "10-bis", "11", "12"]),
    ("D.L. 34/2020", "il", ["119", "121", "28"]),
    ("D.Lgs. 127/2015", "il", ["1", "2"]),
    ("DPR 131/86", "il", ["5", "40", "57"]),
]
LAWS_HELDOUT_ONLY = [
    ("D.Lgs. 13/2024", "il", ["9", "10", "15"]),
    ("DPR 642/72", "il", ["2", "13"]),
    ("D.Lgs. 546/92", "il", ["17-bis", "21"]),
    ("legge 212/2000", "la", ["7", "10"]),
]
LEGGE_COMMI = [("legge 190/2014", "la", ["54", "56", "57", "64", "69"]),
               ("legge di bilancio 2023", "la", ["54", "55", "153", "231"]),
               ("legge di bilancio 2024", "la", ["16", "18", "55"]),
               ("legge 197/2022", "la", ["231", "232", "252"])]
OIC = ["9", "10", "12", "13", "15", "16", "19", "24", "25", "28", "29", "31", "34"]


def split_pool(train_values, heldout_only):
    """Training rows draw from train_values; held-out rows from both."""
    return list(train_values), list(train_values) + list(heldout_only)


POOLS = {
    "T": split_pool(CONCEPTS_TRAIN, CONCEPTS_HELDOUT_ONLY),
    "X": split_pool(TAXES_TRAIN, TAXES_HELDOUT_ONLY),
    "F": split_pool(FORMS_TRAIN, FORMS_HELDOUT_ONLY),
    "A": split_pool(ACCOUNTING_TRAIN, ACCOUNTING_HELDOUT_ONLY),
    "E": split_pool(ENTITIES_TRAIN, ENTITIES_HELDOUT_ONLY),
    "L": split_pool(LAWS, LAWS_HELDOUT_ONLY),
}
SIMPLE_POOLS = {
    "quadro": split_pool(QUADRI, QUADRI_HELDOUT_ONLY),
    "acr": split_pool(ACRONYMS_TRAIN, ACRONYMS_HELDOUT_ONLY),
    "princ": split_pool(PRINCIPLES_TRAIN, PRINCIPLES_HELDOUT_ONLY),
    "prof": split_pool(PROFESSIONS_TRAIN, PROFESSIONS_HELDOUT_ONLY),
    "country": split_pool(COUNTRIES_TRAIN, COUNTRIES_HELDOUT_ONLY),
    "act": split_pool(ACTIONS_TRAIN, ACTIONS_HELDOUT_ONLY),
    "op": split_pool(OPERATIONS_TRAIN, OPERATIONS_HELDOUT_ONLY),
    "ivacase": split_pool(IVA_CASES_TRAIN, IVA_CASES_HELDOUT_ONLY),
    "spesa": split_pool(EXPENSES_TRAIN, EXPENSES_HELDOUT_ONLY),
    "pay": split_pool(PAYMENTS_TRAIN, PAYMENTS_HELDOUT_ONLY),
    "forgot": (FORGOTTEN_HELDOUT, FORGOTTEN_HELDOUT),
    "month": (MONTHS, MONTHS),
    "year": (YEARS, YEARS),
    "city": split_pool(CITIES, CITIES_HELDOUT_ONLY),
    "name": split_pool(NAMES, NAMES_HELDOUT_ONLY),
    "surname": (SURNAMES, SURNAMES),
    "greet": (GREETINGS, GREETINGS),
    "thanks": (THANKS, THANKS),
    "oic": (OIC, OIC),
    "rate": (["4", "5", "10", "22"], ["4", "5", "10", "22"]),
    "cassa": (["2", "4", "5"], ["2", "4", "5"]),
    "coeff": (["40", "54", "62", "67", "78", "86"], ["40", "54", "62", "67", "78", "86"]),
    "sost": (["5", "15"], ["5", "15"]),
    "ced": (["10", "21"], ["10", "21"]),
    "gs": (["24", "26,07", "33", "35,03"], ["24", "26,07", "33", "35,03"]),
    "ammrate": (["10", "12", "15", "20", "25"], ["10", "12", "15", "20", "25"]),
    "imual": (["7,6", "8,6", "10,6", "9,6"], ["7,6", "8,6", "10,6", "9,6"]),
    "tasso": (["2,5", "3", "3,5", "4", "4,2", "5"], ["2,5", "3", "3,5", "4", "4,2", "5"]),
}

# --------------------------------------------------------------------------
# Templates. Placeholders:
#   {T} {di_T} {a_T} {su_T} {in_T} {T_bare}   concept topic (also T2 for a 2nd one)
#   same for X (tax), F (form), A (accounting item), E (entity), L (law)
#   {art_L} an article number valid for the law L, {comma_L} a comma
#   {amt} {amt2} {amtm} (monthly) {rendita} {days} {n} {nd} (employees) {num} (circular no.)
#   and the SIMPLE_POOLS names above.
# --------------------------------------------------------------------------

TEMPLATES = {
    "chitchat": {
        "train": [
            "{greet}!", "{greet}, come stai?", "{greet}, come va oggi?", "{greet} a te",
            "{greet}, sono {name} dello studio {surname}", "Grazie mille!", "{thanks}, sei stato utilissimo",
            "{thanks} per la risposta", "Perfetto, {thanks_l}", "Ok {thanks_l}, a domani", "Chi sei?",
            "Come ti chiami?", "Che cosa sai fare?", "Sei un robot o una persona vera?",
            "Sei un'intelligenza artificiale?", "Chi ti ha sviluppato?", "Sei meglio di ChatGPT?",
            "Parli anche inglese?", "Posso darti del tu?", "Che tempo fa oggi a {city}?",
            "Oggi a {city} piove da stamattina, che noia", "Buon weekend a tutti!", "Buone feste e buon anno!",
            "Mi racconti una barzelletta?", "Sono stanchissimo, oggi non finisce più", "Che ore sono?",
            "Hai visto la partita ieri sera?", "Vado a prendere un caffè, torno subito",
            "Sto solo provando come funzioni", "test", "prova prova",
            "Sei sempre disponibile anche di notte?", "Quanto costa l'abbonamento a PratikoAI?",
            "Come posso contattare l'assistenza di PratikoAI?", "Non ho capito, puoi ripetere?",
            "La risposta di prima non era corretta", "Bravo, risposta perfetta",
            "Mi sei stato di grande aiuto oggi", "Buona giornata e buon lavoro", "Ci sentiamo domani",
            "Alla prossima!", "Arrivederci", "{greet}! Tutto bene?", "Scusa il disturbo",
            "Ho una giornata piena di scadenze, che stress", "Che bello, finalmente venerdì",
            "Fino a che data sono aggiornate le tue informazioni?", "Ti ricordi cosa ti ho chiesto ieri?",
            "Puoi darmi del lei per favore?", "{greet}, mi chiamo {name}, piacere",
            "Sono {name}, praticante commercialista a {city}", "Come funzioni? Sei gratis?",
            "{thanks}, buona serata", "ok perfetto", "Va bene, grazie lo stesso",
            "Scusa, ho sbagliato a scrivere", "Ahahah simpatico", "Mi fai compagnia mentre chiudo i bilanci?",
            "{greet} {name}!", "Sei capace di scrivere poesie?",
        ],
        "heldout": [
            "{greet} PratikoAI, tutto a posto?", "Ti ringrazio, sei stato gentilissimo",
            "Sei una persona o un programma?", "Chi c'è dietro questo assistente?",
            "Di cosa ti occupi esattamente?", "Che lingue conosci?", "Oggi fa un caldo terribile qui a {city}",
            "Buona serata, a presto", "Mille grazie, gentilissimo", "Ti va di fare due chiacchiere?",
            "Mi annoio, dimmi qualcosa di divertente", "Sei stanco di rispondere a domande sulle tasse?",
            "Buon lunedì a tutto lo staff!", "Ok capito, grazie ancora", "Ci vediamo la prossima settimana",
            "Hai un nome?", "Come mai ti chiami PratikoAI?", "Sto facendo una prova del sistema",
            "Che bella giornata oggi!", "{greet}, qui è {name} da {city}", "Tutto chiaro, sei un grande",
            "Chi ti ha programmato?", "Quanti anni hai?", "Hai delle emozioni?", "Ottimo lavoro, complimenti",
            "Ora stacco, a domani", "Ma tu dormi mai?", "Salutami il tuo sviluppatore",
            "Qui a {city} c'è un sole splendido", "Sei tifoso di qualche squadra?", "Oggi sono di pessimo umore",
            "Mi consigli un buon ristorante a {city}?", "Sai cucinare?", "Com'è andato il tuo weekend?",
            "Ti piace il tuo lavoro?", "Sei ancora lì?", "Pronto? Mi senti?", "Scusami per prima, ero nervoso",
            "Perfetto così, ti auguro una buona notte", "Oggi è il mio compleanno!",
            "Sono il titolare dello studio {surname} di {city}", "Piacere di conoscerti, io sono {name}",
            "Ti scrivo dallo studio di {city}, tutto ok?", "Puoi parlarmi in dialetto?",
            "Rispondi sempre così velocemente?", "Hai una versione per smartphone?",
            "Quanto sei intelligente da 1 a 10?", "Lavori anche a Ferragosto?",
            "Non ti preoccupare, ho risolto da solo", "Niente, lascia perdere", "Bene bene, allora alla prossima",
            "Sei proprio simpatico, sai?", "Uff, il lunedì è sempre pesante", "Devo scappare in riunione, ciao",
        ],
    },
    "theoretical_definition": {
        "train": [
            "Cos'è {T}?", "Che cos'è {T}?", "Cosa si intende per {T_bare}?", "Mi spieghi cos'è {T}?",
            "Definizione {di_T}", "Che differenza c'è tra {X} e {X2}?", "Qual è la differenza tra {X} e {X2}?",
            "In cosa consiste {T}?", "Cosa vuol dire {T_bare}?", "Significato di {T_bare}",
            "A cosa serve {T}?", "Quali sono le caratteristiche principali {di_T}?",
            "{T_bare}: di cosa si tratta?", "Mi dai una definizione semplice {di_T}?",
            "Spiegami in parole semplici {T}", "Cosa significa la sigla {acr}?", "Per cosa sta {acr}?",
            "{acr} cosa significa?", "Qual è la natura giuridica {di_E}?", "Che tipo di imposta è {X}?",
            "{X_bare} è un'imposta diretta o indiretta?", "Chi sono i soggetti passivi {di_X}?",
            "Qual è il presupposto {di_X}?", "Che cosa si intende con il termine {T_bare} in ambito fiscale?",
            "In contabilità, cosa significa {A_bare}?", "Differenza tra {A} e {A2}",
            "Cos'è {A} in contabilità?", "Come funziona {T} in generale?", "Mi fai un riassunto di cosa è {T}?",
            "Qual è la ratio {di_T}?", "Cosa si intende per principio di {princ}?",
            "Che cos'è il principio di {princ}?", "volevo sapere cos'è {T}", "{T_bare} cos'è",
            "cos e {T_bare}", "Che cos'è una {E_bare}?", "Cosa distingue {E} {da_E2}?",
            "{X_bare} e {X2_bare} sono la stessa cosa?", "Puoi definirmi {A}?", "Concetto {di_T}",
            "Cos'è e come nasce {T}?", "Cosa sono {A_pl}?", "Qual è il significato {di_T} nel diritto tributario?",
            "In parole povere, cos'è {T}?", "Cosa si intende per {A_bare} nel bilancio?",
            "Che cos'è la {ctype} nel diritto tributario?",
        ],
        "heldout": [
            "Potresti definire {T}?", "Vorrei capire il concetto {di_T}", "Mi chiarisci il significato {di_T}?",
            "Quale distinzione esiste tra {X} e {X2}?", "{X_bare} e {X2_bare}: in cosa differiscono?",
            "Qual è la definizione corretta {di_T}?", "Cosa indica l'acronimo {acr}?",
            "In che senso si parla di {T_bare}?", "Spiegazione teorica {di_T}",
            "Qual è il significato del principio di {princ}?", "Cosa rappresenta {A} in un bilancio?",
            "Mi illustri brevemente la nozione {di_T}?", "Tecnicamente, cos'è {T}?",
            "Che significato ha {T_bare}?", "Descrivimi {T} dal punto di vista teorico",
            "Che cosa si intende, in economia aziendale, con {A_bare}?", "Sai dirmi cos'è {T}?",
            "Ma {T_bare} esattamente che cos'è?", "Come si definisce {T}?", "Che natura ha {X}?",
            "Quali tratti distinguono {E} {da_E2}?", "{acr}: che cos'è?",
        ],
    },
    "technical_research": {
        "train": [
            "Come si compila il quadro {quadro} {di_F}?", "Come si compila {F}?", "Entro quando va presentato {F}?",
            "Qual è la scadenza {di_F} {year}?", "Come devo fatturare a un cliente {country}?",
            "Come si emette una fattura con {T}?", "Come gestisco {T} per una {E_bare}?",
            "Quali adempimenti ha una {E_bare} per {T}?", "Come si apre la partita IVA per un {prof}?",
            "Il mio cliente è un {prof} in regime forfettario e ha superato {amt} di ricavi: cosa succede?",
            "Posso compensare un credito {di_X} in F24 con debiti INPS?",
            "Cosa devo fare se ho sbagliato il codice tributo nell'F24?",
            "Come si corregge una fattura elettronica scartata dallo SDI?",
            "Come si registra contabilmente {op}?", "Come faccio a {act}?", "Procedura per {act}",
            "Qual è la procedura corretta per {act}?", "Un {prof} forfettario deve applicare la ritenuta d'acconto?",
            "Un cliente {country} mi chiede fattura senza IVA: come mi comporto?",
            "Come va trattata l'IVA su {ivacase}?", "Entro quale data devo versare {pay}?",
            "Cosa succede se presento {F} in ritardo?", "È possibile detrarre {spesa} nel 730?",
            "Dove si indicano {spesa} nel modello Redditi?", "Come si calcola la base imponibile IRAP per una società?",
            "Un dipendente può avere anche la partita IVA forfettaria?", "Chi deve inviare la CU e entro quando?",
            "Che codice tributo uso per {pay}?", "Per una {E_bare} con {nd} dipendenti quali scadenze ci sono a {month}?",
            "Quali sono le scadenze fiscali di {month} {year}?",
            "Il cliente ha ricevuto un avviso bonario per {X}: come si risponde?",
            "Come si presenta la dichiarazione di successione online?",
            "Serve il visto di conformità per compensare {amt} di credito IVA?",
            "Come inserisco in contabilità una fattura ricevuta in reverse charge?",
            "Ho emesso una fattura con aliquota sbagliata, come rimedio?", "Quale regime IVA applicare a {ivacase}?",
            "Come si chiude l'esercizio per una {E_bare} in liquidazione?",
            "Cosa bisogna fare per passare dal regime forfettario all'ordinario?",
            "Quando si applica lo split payment nelle fatture verso la PA?",
            "È obbligatoria la fattura elettronica per un {prof} forfettario nel {year}?",
            "Il socio di una SRL può essere anche dipendente? Come si gestisce?",
            "Quali documenti servono per {act}?", "Devo fare {F} se ho solo redditi da {prof}?",
            "Come si gestisce {op} in una {E_bare}?", "Un {prof} con un contratto di lavoro dipendente può entrare nel forfettario?",
            "Un mio cliente {prof} ha incassato una fattura del {year} solo quest'anno: in che anno la dichiaro?",
            "Come comunico all'Agenzia la variazione dei dati {di_E}?",
            "Conviene il forfettario o l'ordinario per un {prof} con {amt} di compensi?",
            "Cosa devo controllare prima di inviare {F}?", "come si fa {F} per un pensionato",
            "Il cliente ha pagato in ritardo {pay}: come sistemo?",
        ],
        "heldout": [
            "Qual è l'iter per {act}?", "Che passaggi devo seguire per {act}?",
            "Mi guidi passo passo nella compilazione {di_F}?",
            "Un mio assistito {prof} ha dimenticato di {forgot}: come può sistemare?",
            "In pratica, come si gestisce {T} in una {E_bare}?", "Quali termini ci sono per l'invio {di_F}?",
            "Che adempimenti scattano quando una {E_bare} assume il primo dipendente?",
            "Fattura verso un'azienda {country}: che dicitura metto?",
            "Devo indicare {spesa} nella precompilata o li aggiunge l'Agenzia?",
            "Il software mi dà errore nell'invio {di_F}, come risolvo?",
            "Posso rateizzare il saldo {di_X}? Come si fa?",
            "Come mi comporto con un fornitore {country} che mi fattura servizi senza IVA?",
            "Operativamente come si fa a {act}?", "Quando scade il versamento {di_pay}?",
            "Il quadro {quadro} {di_F} va compilato anche da chi {quadrocase}?",
            "A livello pratico, come tratto {op} in partita doppia?",
            "Che aliquota IVA devo applicare su {ivacase}?",
            "Un {prof} che apre la partita IVA a {month} quali adempimenti ha nel primo anno?",
            "Mi conviene aderire {a_T} per un cliente {prof}? Cosa comporta in pratica?",
            "Cosa rischia chi omette {F}?",
        ],
    },
    "calculator": {
        "train": [
            "Calcola l'IVA al {rate}% su {amt}", "Calcolami l'IVA su {amt}", "Scorporo IVA {rate}% da {amt}",
            "Scorpora l'IVA da {amt} IVA inclusa",
            "Quanto pago di contributi INPS con {amt} di fatturato forfettario?",
            "Quanto pago di tasse con {amt} di ricavi in forfettario come {prof}?",
            "Calcola l'IRPEF su un reddito di {amt}", "Quanta IRPEF pago su {amt} lordi?",
            "Netto di una fattura da {amt} con ritenuta d'acconto del 20%",
            "Calcolami il netto a pagare per una parcella di {amt} più cassa {cassa}% e IVA",
            "Quanto costa il ravvedimento per un F24 di {amt} pagato con {days} giorni di ritardo?",
            "Calcola sanzioni e interessi per {amt} di IVA versata {days} giorni in ritardo",
            "Calcola l'IMU su un immobile con rendita catastale di {rendita}",
            "Quanto TFR matura un dipendente con RAL {amt} in {n} anni?", "Stipendio netto con RAL di {amt}",
            "{amt} + IVA al {rate}% quanto fa?", "Quanto fa {amt} più IVA?", "Calcola il {rate}% di {amt}",
            "Quant'è la cedolare secca su un affitto di {amtm} al mese?",
            "Calcola l'imposta sostitutiva del {sost}% su {amt} di ricavi forfettari con coefficiente {coeff}%",
            "Con ricavi di {amt} e coefficiente di redditività del {coeff}%, quanto è il reddito imponibile?",
            "Calcola la rata mensile di un mutuo di {amt} al {tasso}% per {n} anni",
            "Ammortamento di un bene da {amt} con aliquota {ammrate}%: quota annua?",
            "Quanto è la quota di ammortamento annua per un'auto da {amt}?",
            "Calcola l'IRES al 24% su un utile di {amt}",
            "Calcola l'IRAP con aliquota 3,9% su un valore della produzione di {amt}",
            "Interessi legali su {amt} per {n} mesi",
            "Quanto devo versare di acconto IRPEF se il rigo differenza è {amt}?",
            "Quanto mi rimborsano nel 730 se ho {amt} di spese mediche?",
            "Detrazione del 19% su {amt} di spese mediche: quanto recupero?",
            "Calcola la detrazione per ristrutturazione al 50% su {amt} in 10 rate",
            "Quanto è il contributo integrativo del 4% su {amt}?",
            "Calcola i contributi gestione separata al {gs}% su {amt}",
            "Dividi {amt} in {n} rate mensili con interessi al {tasso}%",
            "fammi il conto: {amt} di fatturato, {amt2} di spese, quanto resta di utile?",
            "Se un forfettario fattura {amt} quanto gli resta netto?", "quanto fa {amt} meno ritenuta 20%?",
            "Calcola l'imposta di registro al 2% su un valore catastale di {amt}",
            "Quanto pago di IMU con rendita {rendita} e aliquota {imual} per mille?",
            "Quanto versa di contributi un {prof} in gestione separata con {amt} di reddito?",
            "Percentuale di {amt2} su {amt}?", "calcolo iva {amt}", "Calcola il lordo partendo da un netto di {amt}",
            "Quanto costa all'azienda un dipendente con RAL di {amt}?",
            "Quante tasse paga una SRL con {amt} di utile?", "conto veloce: {amt} diviso {n} soci",
            "Calcola l'acconto IVA di dicembre con metodo storico se l'IVA dell'anno scorso era {amt}",
        ],
        "heldout": [
            "Mi fai il calcolo dell'IVA su una fattura di {amt}?", "A quanto ammonta l'IVA al {rate}% di {amt}?",
            "Qual è l'imponibile se il totale fattura è {amt} IVA {rate}% compresa?",
            "Determina il netto in busta per una retribuzione lorda annua di {amt}",
            "Tirami fuori le tasse per un forfettario con {amt} incassati",
            "Quanto viene l'IMU con rendita {rendita} e aliquota al {imual} per mille?",
            "Computa la sanzione ridotta per un omesso versamento di {amt}",
            "Dato un utile ante imposte di {amt}, quante imposte paga la SRL?",
            "Quanto rimane in tasca a un {prof} che fattura {amt} in regime ordinario?",
            "Fammi i conti sulla cedolare al {ced}% per un canone annuo di {amt}",
            "Valore dell'ammortamento annuo di un macchinario da {amt} al {ammrate}%?",
            "Qual è il TFR lordo dopo {n} anni con stipendio annuo di {amt}?",
            "Quanti contributi versa un artigiano con reddito di {amt}?",
            "Aggiungi a {amt} l'IVA del {rate} per cento", "{amt} lordi, ritenuta al 20%: netto?",
            "Stimami l'IRPEF dovuta su {amt} di reddito complessivo",
            "Quanto recupero con la detrazione al 19% su {amt} di spese veterinarie?",
            "Calcolo sanzione ravvedimento per {amt} versati con {days} giorni di ritardo",
            "Mi serve il totale fattura: imponibile {amt}, IVA {rate}%, rivalsa INPS 4%",
            "Su {amt} di incassi con coefficiente {coeff}% quanto reddito dichiaro?",
        ],
    },
    "normative_reference": {
        "train": [
            "Cosa dice l'art. {art_L} {di_L}?", "Cosa prevede l'articolo {art_L} {di_L}?",
            "Circolare AdE {num}/E del {year}", "Mi trovi la circolare dell'Agenzia delle Entrate {num}/E/{year}?",
            "Riferimento normativo per {T}", "Qual è la norma che disciplina {T}?",
            "Qual è il riferimento normativo {di_T}?", "In quale articolo del TUIR si parla {di_T}?",
            "Quale legge ha introdotto {T}?", "Testo dell'art. {art_L} {di_L}", "Art. {art_L} {L_bare}",
            "Risoluzione {num}/E del {year}: cosa stabilisce?",
            "Cosa chiarisce la risposta a interpello n. {num3} del {year}?",
            "Mi indichi una sentenza della Cassazione in materia {di_T}?",
            "Quali sono i commi della legge di bilancio {year} {su_T}?", "Dove è previsto per legge {T}?",
            "Fonte normativa {di_T}", "Quale decreto regola {T}?",
            "Secondo l'art. {art_L} {di_L}, quando è applicabile?",
            "Qual è l'articolo del codice civile sul bilancio d'esercizio?",
            "Mi serve il testo normativo aggiornato {di_T}",
            "Cosa stabilisce il comma {comma} dell'art. {art_L} {di_L}?",
            "L'art. {art_L} {di_L} è ancora in vigore?", "Che cosa dice il principio contabile OIC {oic}?",
            "Mi riporti il testo dell'OIC {oic}?", "Quale circolare INPS disciplina {T}?",
            "Circolare INPS n. {num} del {year}", "Normativa di riferimento per {T}",
            "Comma {lc_comma} {di_LC}: cosa prevede?", "Cosa dice la {LC_bare} al comma {lc_comma}?",
            "Quale norma prevede le sanzioni per {T}?", "Mi citi l'articolo che regola {T}?",
            "art {art_L} {L_bare} cosa dice", "Riferimenti di legge {su_T}?",
            "C'è una circolare dell'Agenzia {su_T}?", "Quale provvedimento del direttore AdE riguarda {T}?",
            "In quale norma è previsto l'obbligo {di_F}?", "Chi ha scritto la risoluzione AdE {num}/E del {year} e cosa dice?",
            "Mi linki la sentenza della Corte di Cassazione n. {num5}/{year}?", "Quale articolo dello Statuto del contribuente tutela {T}?",
            "Che cosa dispone il DM del {year} {su_T}?", "Qual è la disciplina normativa {di_T}?",
            "Mi fai un elenco delle norme che regolano {T}?",
        ],
        "heldout": [
            "Che cosa recita l'articolo {art_L} {di_L}?", "Potresti indicarmi la base giuridica {di_T}?",
            "Su quale disposizione di legge si fonda {T}?", "Cerco la circolare n. {num}/E dell'anno {year}",
            "Estremi della norma che regola {T}", "Quale articolo del DPR 633/72 riguarda {T}?",
            "Riportami il dettato normativo dell'art. {art_L} {di_L}", "Contenuto della risoluzione AdE n. {num} del {year}",
            "Quale provvedimento normativo ha istituito {T}?", "Mi linki la norma {su_T}?",
            "In che legge si trova la disciplina {di_T}?", "Citami l'articolo di legge che prevede {T}",
            "Come faccio a trovare l'articolo che disciplina {T}?", "Dove trovo il testo ufficiale {di_L}?",
            "Art {art_L} {L_bare} testo", "Cosa dispone l'art. {art_L} {di_L} in tema {di_T}?",
            "Quali prassi e circolari esistono {su_T}?", "Esiste una risposta a interpello recente {su_T}?",
            "Che norma devo citare in fattura per {T}?", "Principio contabile OIC {oic}: cosa stabilisce?",
        ],
    },
}

# Later waves of training phrasings (more wording and register variety on the
# training side only), written after the first held-out evaluation under the
# HELDOUT_ONLY_WORDS guard below, so the held-out templates' distinctive
# wording stays unseen by the model.
MORE_TRAIN_TEMPLATES = {
    "chitchat": [
        "Buongiorno a tutti, oggi si lavora sodo", "Che giornata lunga, voglio andare a casa",
        "Come stai oggi?", "Tutto bene da te?", "Sei un chatbot?", "Sei stato creato da un'azienda italiana?",
        "Che musica ascolti?", "Preferisci i cani o i gatti?", "Parlami un po' di te", "Buon appetito!",
        "Vado in pausa pranzo", "Sono rientrato dalle ferie", "Oggi ho finito prima, evviva", "Sei sveglio?",
        "Come te la passi?", "Mi presento: sono {name}, lavoro in uno studio di {city}", "Sei un essere umano?",
        "Che cosa ne pensi del calcio?", "Buona domenica!", "Il caffè della macchinetta oggi è imbevibile",
        "Che fatica il mese di luglio", "Ok, ricevuto", "Sei molto utile, continua pure", "Sei disponibile adesso?",
        "Salve, c'è qualcuno?", "Ahah, che risposta buffa", "Faccio una domanda stupida: sei felice?",
        "Buona fortuna per le dichiarazioni a tutti noi", "Domani sono in ferie, a giovedì", "Sai giocare a scacchi?",
        "Hai un colore preferito?", "Chi vincerà il campionato?", "Sei gratuito per gli studenti?",
        "Come si usa PratikoAI dal telefono?", "Chi sono i tuoi creatori?", "{greet}, eccomi di nuovo",
        "A {city} nevica, incredibile", "Sono stufo delle scadenze", "Mi hai salvato la giornata, {thanks_l}",
        "Buone vacanze a tutti voi",
        "Sei ancora in fase di prova?", "Grazie per la pazienza", "Scusa se ti disturbo a quest'ora",
        "Oggi piove e ho mal di testa", "Hai visto che bel tramonto?", "Stasera pizza con i colleghi!",
        "Sei italiano?", "Ti chiedo scusa per il tono di prima", "Che bravo che sei", "Ok, per oggi basta",
        "Sai che giorno è oggi?", "Posso chiamarti Pratiko?", "Da quando sei online?",
        "Cosa fai nel tempo libero?", "Buonanotte!", "Sei lento oggi", "La connessione è lentissima oggi",
        "Sto aspettando un cliente, intanto ti saluto", "Il mio collega ti usa sempre",
        "Salve, oggi è il mio giorno di prova in studio", "Evviva, ho superato l'esame di Stato!",
        "Sei sempre gentile con tutti?", "Hai dei figli?", "Piove a dirotto a {city}", "Buon inizio di mese",
        "{greet}! Si ricomincia",
    ],
    "theoretical_definition": [
        "Mi spieghi il significato {di_T}?", "Qual è l'origine {di_T}?", "Cosa caratterizza {T}?",
        "{T_bare}: definizione e caratteristiche", "Cos'è in sintesi {T}?", "Qual è lo scopo {di_T}?",
        "Per quale motivo è nato {T}?", "Quali elementi compongono {A}?", "{X_bare} e {X2_bare}, che differenza c'è?",
        "Cos'hanno in comune {X} e {X2}?", "Qual è il concetto alla base {di_T}?", "Che cosa sono {A_pl}?",
        "{A_bare}, cos'è di preciso?", "Spiegami la differenza tra {A} e {A2}", "Che funzione ha {A} nel bilancio?",
        "Che ruolo svolge {T} nel fisco italiano?", "Quali sono gli elementi essenziali {di_T}?",
        "A cosa si riferisce il termine {T_bare}?", "Cosa si intende quando si dice {T_bare}?",
        "Che tipo di istituto è {T}?", "Come viene inquadrato {T} dalla dottrina?",
        "Cosa significa fiscalmente {T_bare}?", "Glossario: {T_bare}", "Cos'è il principio di {princ} e perché è importante?",
        "{princ}: che principio è?", "Mi spieghi cosa sono {A_pl}?", "Cos'è, in breve, {T}?",
        "In che cosa si differenzia {E} {da_E2}?", "Che cosa vuol dire {acr}?", "Cosa si intende con {acr}?",
        "Che cosa si intende con l'espressione {T_bare}?", "{T_bare}: significato?",
        "Che cos'è, a grandi linee, {T}?", "Qual è la logica {di_T}?", "Cosa sta alla base {di_T}?",
        "Quali sono i presupposti {di_T}?", "Cos'è {T}? Fammi un esempio", "Che cos'è {A} e a cosa serve?",
        "Differenze tra {E} e {E2}?", "{E_bare} o {E2_bare}: che differenze ci sono?",
        "Cosa si intende per {A_bare} in ragioneria?", "Qual è la funzione {di_T}?",
        "Cos'è {X}, in poche parole?", "Cosa vuol dire essere soggetti {a_X}?",
        "La sigla {acr} a cosa corrisponde?", "Da dove deriva la denominazione {di_T}?", "Come nasce {T}?",
        "Che cos'è {T}, spiegato a un principiante?", "Quali sono i principi generali {di_T}?",
        "Che differenza passa tra {A} e {A2}?", "Cosa distingue un'imposta diretta da una indiretta?",
        "Cos'è {T} rispetto {a_T2}?", "Che significa {acr} in ambito fiscale?",
        "Cosa si intende di preciso per principio di {princ}?",
    ],
    "technical_research": [
        "Come posso {act}?", "Cosa serve per {act}?", "Qual è il modo giusto per {act}?",
        "Mi spieghi come si fa a {act}?", "Cosa devo fare per {act}?",
        "Un cliente {country} ha pagato in anticipo: come registro l'incasso?",
        "Il mio cliente {prof} ha ricevuto una cartella per {X}: come si contesta?",
        "Come si detrae l'IVA su {ivacase}?", "In che quadro {di_F} vanno {spesa}?", "Quando va pagato {pay}?",
        "Ho un cliente con {T}: come gestisco le fatture di acquisto?", "Come si chiude una {E_bare}?",
        "Quali controlli fa l'Agenzia su {F}?", "Si può fare una dichiarazione integrativa per correggere {F}?",
        "Un {prof} può dedurre le spese dell'auto? In che misura?", "Come si applica {T} a un {prof}?",
        "Entro che giorno si paga {pay}?", "Che succede se non pago {pay} in tempo?",
        "Cosa cambia per un {prof} che supera la soglia del forfettario?",
        "Come mi regolo con le fatture estere per un cliente {country}?",
        "Devo emettere fattura per un acconto ricevuto da un cliente {country}?",
        "Qual è la tempistica per presentare {F}?", "Come posso correggere una dichiarazione già trasmessa?",
        "Quali spese può scaricare un {prof}?", "Come funziona in concreto {T} per una {E_bare}?",
        "Ho un dubbio: come contabilizzo {op}?", "Chi è obbligato a presentare {F}?",
        "Come si gestiscono le fatture di un cliente {prof} che ha cessato l'attività?",
        "Il cliente vuole {act}, da dove partiamo?", "Per {ivacase} serve la fattura elettronica?",
        "Come compilo {F} per un cliente {prof}?", "Cosa devo allegare {a_F}?",
        "Serve la firma digitale per {act}?", "Come si comunica all'INPS la cessazione di un dipendente?",
        "Come gestire le fatture scartate dallo SDI oltre i 5 giorni?",
        "Il cliente non ha pagato la fattura: posso recuperare l'IVA?",
        "Devo fare il reverse charge per un subappalto edile?",
        "Cosa serve per intestare una fattura a un condominio?", "Qual è il codice ATECO giusto per un {prof}?",
        "Come si tratta fiscalmente {op}?", "Come registro {op} in contabilità semplificata?",
        "Che adempimenti ha un {prof} che apre la partita IVA?",
        "Quali scadenze ha un {prof} forfettario nel {year}?",
        "Cosa si fa se {F} è stato trasmesso con dati sbagliati?",
        "Come devo gestire l'IVA su {ivacase} per un cliente {country}?",
        "Posso detrarre {spesa} se pago in contanti?",
        "Il mio cliente ha venduto una casa: deve dichiarare la plusvalenza?",
        "Cosa succede se il cliente ha un debito con l'Agenzia delle Entrate-Riscossione?",
        "Come si emette una nota di credito parziale?", "Serve un'autorizzazione per {act}?",
        "Quanto tempo ha l'Agenzia per fare un accertamento?",
        "Cosa deve fare un {prof} che riceve un compenso dall'estero?",
        "Come deduco i costi di un'auto usata anche per lavoro?", "Entro quando si può {act}?",
    ],
    "calculator": [
        "Quanto è l'IVA su {amt}?", "Mi calcoli quanto pago di IRPEF con {amt} di reddito?",
        "Quanto devo pagare di IMU per una casa con rendita {rendita}?", "Calcolo del netto da {amt} lordi",
        "Qual è il netto mensile con una RAL di {amt}?", "Fammi il calcolo dei contributi INPS su {amt}",
        "Quanto fa il {rate}% di {amt}?", "Se guadagno {amt} l'anno quanto pago di tasse?",
        "Con {amt} di fatturato e {amt2} di costi quanto pago di IRPEF in regime ordinario?",
        "Quanto pago di interessi su un ritardo di {days} giorni per {amt}?",
        "Calcolo ravvedimento operoso: {amt} con {days} giorni di ritardo",
        "Quanto pago di interessi se divido {amt} in {n} rate?",
        "Calcola il TFR per {n} anni di lavoro con stipendio di {amt}",
        "Quanta cedolare secca pago con un affitto di {amtm} mensili?", "Quanto fa {amt} diviso {n}?",
        "Ricavami l'imponibile da {amt} IVA inclusa al {rate}%", "Da {amt} lordi quanto resta netto a un {prof}?",
        "Fai il conto dell'IRES su {amt}", "Quanto paga di IRAP una società con {amt} di valore della produzione?",
        "Calcolami la detrazione per {amt} di interessi passivi sul mutuo",
        "Quanto mi spetta di detrazione per {amt} di spese per ristrutturazione?",
        "Quanto pagherei di contributi come {prof} con {amt} di reddito?",
        "Calcola la quota di ammortamento del {ammrate}% su {amt}",
        "Quanto costa in tutto una fattura da {amt} con IVA al {rate}%?",
        "Ho fatturato {amt}, quanto devo accantonare per le tasse?", "Quanto è il {coeff}% di {amt}?",
        "Quanto risparmio con la cedolare al {ced}% su {amt} di affitto l'anno?",
        "Mi serve un calcolo: {amt} meno {amt2}, poi IVA al {rate}%",
        "Calcola gli interessi legali al {tasso}% su {amt}", "Quanto pago di superbollo per {n}0 kW oltre la soglia?",
        "Calcola la differenza tra {amt} e {amt2}", "Quanto costano {n} fatture da {amt} più IVA?",
        "A quanto corrisponde il {rate}% di {amt}?", "Fammi il calcolo: {amt} al {tasso}% per {n} anni",
        "Quanto è l'IRPEF netta con {amt} di reddito e {amt2} di detrazioni?",
        "Con una RAL di {amt} quanto prendo al mese?", "Da {amt} lordi quanto si porta a casa un dipendente?",
        "Calcola l'acconto IRPEF su un'imposta di {amt}", "Quanto vale il {coeff}% di {amt} di ricavi?",
        "Quanto pago di imposta sostitutiva al {sost}% su un reddito di {amt}?",
        "Calcolami il contributo soggettivo al {gs}% su {amt}",
        "Quanto è il costo del lavoro per un dipendente da {amt} lordi?",
        "Quant'è la rata di un finanziamento da {amt} in {n} anni al {tasso}%?",
        "Quanto pago di IVA trimestrale se ho vendite per {amt} e acquisti per {amt2}?",
        "Quanto mi costa il ritardo di {days} giorni su un F24 da {amt}?",
        "Ravvedimento: {amt} scaduti da {days} giorni, quanto pago?",
        "Calcola le ritenute su un compenso di {amt}",
        "Fai la somma di {amt} e {amt2} e applica l'IVA al {rate}%", "Quanto fa {amt} per {n}?",
        "Converti {amt} lordi in netti con ritenuta del 20%",
        "Quanta IMU pago per un negozio con rendita {rendita}?",
        "A quanto arriva la detrazione del 19% su {amt}?",
        "Calcolami l'utile netto: ricavi {amt}, costi {amt2}", "IRES e IRAP su {amt} di utile: quanto si paga?",
    ],
    "normative_reference": [
        "Qual è la legge che regola {T}?", "Quale articolo si applica {a_T}?",
        "Quale decreto legislativo disciplina {T}?", "Norma di riferimento {di_T}?",
        "Mi dici l'articolo del TUIR {su_T}?", "Art. {art_L} {L_bare}: mi riassumi il testo?",
        "Cosa stabilisce l'articolo {art_L} {di_L}?", "Qual è il testo dell'articolo {art_L} {di_L}?",
        "Mi riassumi la circolare {num}/E del {year}?", "Che cosa ha chiarito l'Agenzia con la circolare {num}/E?",
        "Quale risoluzione dell'Agenzia delle Entrate parla {di_T}?", "Quali articoli {di_L} riguardano {T}?",
        "Dammi il riferimento di legge {di_T}", "Cosa dice la normativa {su_T}?", "Cosa dice la legge {su_T}?",
        "Quale comma della legge di bilancio {year} disciplina {T}?", "Che cosa prevede la norma {su_T}?",
        "Quale articolo del codice civile disciplina {T}?",
        "Sentenza della Cassazione {su_T}: quali sono le più importanti?", "Quale giurisprudenza c'è {su_T}?",
        "Cosa prevede il decreto attuativo {di_T}?", "Quale normativa europea riguarda {T}?",
        "Direttiva 2006/112/CE: quale articolo riguarda {T}?", "Quale interpello dell'Agenzia riguarda {T}?",
        "Art. {art_L} comma {comma} {L_bare}", "Cosa dice l'OIC {oic} {su_A}?",
        "Qual è la normativa vigente {su_T}?", "Quale legge stabilisce le regole {di_T}?",
        "Mi mandi il link alla circolare {num}/E del {year}?", "In base a quale articolo si applica {T}?",
        "Quali sono le fonti normative {di_T}?", "Quale articolo del TUIR disciplina {T}?",
        "Cosa dice il codice civile {su_A}?", "Cosa prevede {L} in materia {di_T}?",
        "Quale legge ha modificato {T} nel {year}?", "Qual è la norma sanzionatoria per {T}?",
        "Quale circolare ha chiarito i dubbi {su_T}?", "Le istruzioni ministeriali {su_T} cosa dicono?",
        "Mi serve l'articolo preciso {su_T}", "In quale decreto è stato introdotto {T}?",
        "Testo della legge {su_T}", "Quali commi della legge di bilancio parlano {di_T}?",
        "Articolo {art_L} {di_L}: è stato modificato nel {year}?", "Che dice la Cassazione {su_T}?",
        "Quale risoluzione ha chiarito {T}?", "Cosa prevede il regolamento UE {su_T}?",
        "Il principio di diritto n. {num} del {year} cosa dice?", "Quale provvedimento ha approvato {F}?",
        "Quale norma rende obbligatorio {F}?", "Quali sono gli articoli {di_L} sulle sanzioni?",
        "Quale decreto ministeriale fissa le regole {di_T}?", "Art. {art_L} {L_bare}, testo vigente",
    ],
}
for _label, _more in MORE_TRAIN_TEMPLATES.items():
    TEMPLATES[_label]["train"] = TEMPLATES[_label]["train"] + _more

# Words that occur in the held-out templates / hard rows but in none of the
# training templates. Frozen when the held-out templates were written; the
# generator refuses to run if a training template or hard row uses one.
HELDOUT_ONLY_WORDS = frozenset("""
    acronimo aderire aggiunge aggiungi allora ammonta andato annoio annuo ante artigiano
    assistente assistito assume auguro aziendale bella benefit bollo brevemente busta calcolano
    caldo canone capire cento cerco chiacchiere chiama chiarisci circolari citami citare com
    compensazione compilato compilazione compleanno complessivo complimenti comporta compresa
    computa conoscerti conosci consigli contenuto conti cosi cucinare dato definire definisce
    descrivimi determina dettato dialetto dicitura dietro differiscono dimenticato dimmi dirmi
    disposizione distinguono distinzione divertente domande dopo doppia dormi dovuta due
    economia emozioni ero errore esattamente esiste esistono estremi facendo ferragosto flat
    fonda fornitore franchigia fringe fuori gentilissimo guidi illustri imposte incassati
    incassi indica indicare indicarmi intelligente invio io istituito iter lascia lavori li
    limite lingue livello lorda lunedi ma macchinario mai metto nella nervoso niente nome
    nozione occupi omesso omette operativamente ottimo ottobre parlarmi parte passaggi passo
    perdere pesante pessimo piace posto potresti prassi pratico precompilata preoccupare presto
    primo programma programmato pronto proprio punto qualche qualcosa quanti questo qui
    rappresenta rateizzare recente recita retribuzione ridotta rimane ringrazio riportami
    rischia risolto risolvo rispondere rispondi ristorante riunione rivalsa saldo salutami
    sanitaria sanzione scade scappare scattano scrivo scusami seguire senso senti servizi
    settimana sistema sistemare smartphone software sole splendido squadra stacco staff stanco
    stimami successive sulla sviluppatore tasca tax tecnicamente tema teorica teorico termini
    terribile tifoso tirami titolare totale tratti tratto trova tuo uff ufficiale umore vediamo
    velocemente vendo versamento versati versione veterinarie vista vorrei
""".split())


def template_words(template: str) -> set:
    return set(norm_key(PLACEHOLDER.sub(" ", template)).split())


def check_guard() -> None:
    leaks = []
    for label in LABELS:
        for template in TEMPLATES[label]["train"]:
            bad = template_words(template) & HELDOUT_ONLY_WORDS
            if bad:
                leaks.append(f"{label}: {template!r} uses {sorted(bad)}")
    for text, label in HARD_TRAIN:
        bad = template_words(text) & HELDOUT_ONLY_WORDS
        if bad:
            leaks.append(f"hard row {text!r} uses {sorted(bad)}")
    if leaks:
        raise SystemExit("held-out wording leaked into training templates:\n  " + "\n  ".join(leaks))


# Extra placeholder used in one held-out technical template.
QUADRO_CASES = ["ha solo un conto corrente estero", "ha venduto criptovalute", "ha plusvalenze da azioni",
                "percepisce redditi da locazione"]

# Hand-written hard / ambiguous rows. Each list is used by one file only.
HARD_TRAIN = [
    ("Cos'è la soglia degli 85.000 euro nel forfettario?", "theoretical_definition"),
    ("Che cosa si intende per aliquota IVA del 22%?", "theoretical_definition"),
    ("Cos'è il 5 per mille?", "theoretical_definition"),
    ("Che cos'è la ritenuta del 20% sulle parcelle?", "theoretical_definition"),
    ("Cosa significa F24 ELIDE?", "theoretical_definition"),
    ("Cos'è l'art. 36-bis in parole semplici, un controllo automatizzato?", "theoretical_definition"),
    ("Come faccio a trovare la norma che disciplina il reverse charge?", "normative_reference"),
    ("Come si cita correttamente l'art. 17 del DPR 633/72 in fattura?", "normative_reference"),
    ("Mi indichi dove è previsto per legge lo split payment?", "normative_reference"),
    ("Come posso vedere cosa dice la legge sul ravvedimento?", "normative_reference"),
    ("Dove trovo la circolare sul superbonus del 2023?", "normative_reference"),
    ("Se fatturo 30.000 euro in forfettario quante tasse pago?", "calculator"),
    ("Ho 12.000 euro di spese mediche, quanto mi torna?", "calculator"),
    ("Con 1.500 euro di affitto al mese quanto pago di cedolare?", "calculator"),
    ("Mi dici quanto viene il 22% di 980?", "calculator"),
    ("Oggi è il 16, giornata di F24, che incubo!", "chitchat"),
    ("Grazie, la risposta sul forfettario era perfetta", "chitchat"),
    ("Ciao! Sei esperto di IVA?", "chitchat"),
    ("Buongiorno, oggi dichiarazioni a raffica, che fatica", "chitchat"),
    ("Sei in grado di aiutarmi anche con la contabilità?", "chitchat"),
    ("Grazie per la spiegazione sull'IRAP, ora è chiaro", "chitchat"),
    ("Come si applica in pratica lo split payment a una fattura per il Comune?", "technical_research"),
    ("Il mio cliente ha 90.000 euro di ricavi, esce dal forfettario l'anno prossimo?", "technical_research"),
    ("Entro il 30 settembre devo presentare il modello Redditi anche se è a zero?", "technical_research"),
    ("Come si calcola l'acconto IVA con il metodo previsionale?", "technical_research"),
    ("Quali sono i requisiti per accedere al regime forfettario nel 2024?", "technical_research"),
]

HARD_HELDOUT = [
    ("Cosa si intende per franchigia di 129,11 euro nelle spese mediche?", "theoretical_definition"),
    ("Cos'è il limite di 5.000 euro per la compensazione?", "theoretical_definition"),
    ("Che significa aliquota ridotta al 10%?", "theoretical_definition"),
    ("Come posso sapere quale articolo del TUIR regola i fringe benefit?", "normative_reference"),
    ("Dove sta scritto che la ricevuta sanitaria va con il bollo?", "normative_reference"),
    ("Come si chiama la legge che ha introdotto la flat tax?", "normative_reference"),
    ("Con 2.400 euro di canone annuo, quanto viene la cedolare al 21%?", "calculator"),
    ("Se vendo a 1.220 IVA inclusa, quanto è l'IVA?", "calculator"),
    ("Grazie per l'aiuto con l'F24 di ieri!", "chitchat"),
    ("Ciao, sei bravo con le tasse?", "chitchat"),
    ("Il cliente ha superato i 100.000 euro a ottobre: cosa deve fare con le fatture successive?", "technical_research"),
    ("Come si calcolano i giorni di ritardo per il ravvedimento, da quale data si parte?", "technical_research"),
]

BAD_LINES = [
    '{"text": "Cos\'è il regime forfettario?", "label": "theoretical_definition"',
    '{"text": "", "label": "chitchat"}',
    '{"label": "calculator"}',
    '{"text": 12345, "label": "calculator"}',
    'questa riga non è JSON',
]
UNKNOWN_LABEL_ROWS = [
    {"text": "Ciao a tutti!!", "label": "greeting"},
    {"text": "Calcola l'IVA su 300 euro di consulenza", "label": "tax_calc"},
    {"text": "Cosa dice l'art. 54 del TUIR sui professionisti?", "label": "Normative_Reference"},
]

# --------------------------------------------------------------------------
# Filling
# --------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{([A-Za-z_0-9]+)\}")


def fmt_thousands(n: int) -> str:
    s = f"{n:,}".replace(",", ".")
    return s


def fmt_amount(rng: random.Random, lo: int, hi: int, step: int) -> str:
    n = rng.randrange(lo, hi, step)
    style = rng.randrange(9)
    if style == 0:
        return f"{fmt_thousands(n)} euro"
    if style == 1:
        return f"{n} euro"
    if style == 2:
        return f"€ {fmt_thousands(n)}"
    if style == 3:
        return f"{fmt_thousands(n)}€"
    if style == 4:
        return f"{fmt_thousands(n)},00 €"
    if style == 5 and n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    if style == 6 and n >= 1000 and n % 1000 == 0:
        return f"{n // 1000} mila euro"
    if style == 7:
        return f"{fmt_thousands(n)} €"
    return f"{fmt_thousands(n)} euro"


class Filler:
    def __init__(self, rng: random.Random, split: str):
        self.rng = rng
        self.idx = 0 if split == "train" else 1
        self.split = split

    def pick(self, pool):
        return self.rng.choice(pool[self.idx])

    def fill(self, template: str) -> str:
        chosen: dict[str, object] = {}

        def topic(key: str):
            # key like "T", "T2", "X", "X2", "L", "LC"
            if key not in chosen:
                base = key.rstrip("2")
                if base == "LC":
                    chosen[key] = self.rng.choice(LEGGE_COMMI)
                else:
                    pool = POOLS[base]
                    other = chosen.get(base) if key.endswith("2") else None
                    for _ in range(20):
                        val = self.pick(pool)
                        if val != other:
                            break
                    chosen[key] = val
            return chosen[key]

        def value(name: str) -> str:
            m = re.fullmatch(r"(di|a|su|in|da)_([A-Z]+2?)", name)
            if m:
                prep, key = m.groups()
                bare, art = topic(key)[:2]
                forms = ARTICLES[art]
                return forms[{"di": 1, "a": 2, "su": 3, "in": 4, "da": 5}[prep]] + bare
            m = re.fullmatch(r"([A-Z]+2?)_bare", name)
            if m:
                return topic(m.group(1))[0]
            m = re.fullmatch(r"([A-Z]+2?)_pl", name)
            if m:  # crude plural for accounting items: "i ratei", used sparingly
                bare = topic(m.group(1))[0]
                return PLURALS.get(bare, bare)
            if re.fullmatch(r"[A-Z]+2?", name):
                bare, art = topic(name)[:2]
                return ARTICLES[art][0] + bare
            if name == "art_L":
                return self.rng.choice(topic("L")[2])
            if name == "lc_comma":
                return self.rng.choice(topic("LC")[2])
            if name == "di_pay":
                p = self.pick(SIMPLE_POOLS["pay"])
                for art, forms in (("l'", "dell'"), ("il ", "del "), ("la ", "della "), ("i ", "dei "), ("le ", "delle ")):
                    if p.startswith(art):
                        return forms + p[len(art):]
                return "di " + p
            if name == "thanks_l":
                return self.pick(SIMPLE_POOLS["thanks"]).lower()
            if name == "quadrocase":
                return self.rng.choice(QUADRO_CASES)
            if name == "ctype":
                return self.rng.choice(["capacità contributiva", "riserva di legge", "doppia imposizione",
                                        "elusione fiscale", "evasione fiscale", "sostituzione d'imposta"])
            if name in ("amt",):
                return fmt_amount(self.rng, 500, 120000, 50 if self.rng.random() < 0.5 else 1000)
            if name == "amt2":
                return fmt_amount(self.rng, 100, 30000, 50)
            if name == "amtm":
                return fmt_amount(self.rng, 300, 3000, 50)
            if name == "rendita":
                return fmt_amount(self.rng, 300, 2500, 10)
            if name == "days":
                return str(self.rng.choice([3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 200, 365]))
            if name == "n":
                return str(self.rng.randrange(2, 16))
            if name == "nd":
                return str(self.rng.randrange(1, 40))
            if name == "num":
                return str(self.rng.randrange(1, 40))
            if name == "num3":
                return str(self.rng.randrange(1, 600))
            if name == "num5":
                return str(self.rng.randrange(1000, 35000))
            if name == "comma":
                return str(self.rng.randrange(1, 8))
            if name in SIMPLE_POOLS:
                return self.pick(SIMPLE_POOLS[name])
            raise KeyError(f"unknown placeholder {{{name}}} in template")

        text = PLACEHOLDER.sub(lambda m: value(m.group(1)), template)
        text = re.sub(r"\s+", " ", text).strip()
        text = re.sub(r"\b([Uu])na ([aeiouAEIOU])", r"\1n'\2", text)
        return text[0].upper() + text[1:] if text and template[0] == "{" else text


PLURALS = {"rateo": "i ratei", "risconto": "i risconti", "ammortamento": "gli ammortamenti",
           "accantonamento": "gli accantonamenti", "fondo rischi": "i fondi rischi", "cespite": "i cespiti",
           "fattura da ricevere": "le fatture da ricevere", "avviamento": "gli avviamenti",
           "leasing finanziario": "i leasing finanziari", "riserva legale": "le riserve legali"}

# --------------------------------------------------------------------------
# Noise: register, typos, missing accents, abbreviations, polite wrappers.
# --------------------------------------------------------------------------

PREFIXES = ["Buongiorno, ", "Salve, ", "Scusa, ", "Una domanda: ", "Ciao, ", "Dottore, ",
            "Gentile PratikoAI, ", "Domanda veloce: ", "Allora, ", "Senti, ", "Buonasera, ",
            "Per un cliente: ", "Mi aiuti? ", "Urgente: "]
SUFFIXES = [" grazie", " grazie mille", ", grazie in anticipo", " per favore", " urgente", "??",
            " :)", " thx", " grazie!", ", mi serve per domani"]
ABBREVIATIONS = [(r"\bperché\b", "xché"), (r"\bper\b", "x"), (r"\bnon\b", "nn"), (r"\bche\b", "ke"),
                 (r"\bcomunque\b", "cmq"), (r"\bquesto\b", "qst"), (r"\bcosa\b", "cosa"),
                 (r"\bdocumenti\b", "doc"), (r"\bdichiarazione\b", "dichiaraz."), (r"\bcontributi\b", "contrib."),
                 (r"\bfattura\b", "ft"), (r"\bgrazie\b", "grz")]


def strip_accents(s: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFD", s):
        if unicodedata.category(ch) != "Mn":
            out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def typo(rng: random.Random, s: str) -> str:
    words = s.split(" ")
    cands = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not cands:
        return s
    i = rng.choice(cands)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    elif kind == 1:
        w = w[:j] + w[j + 1:]
    else:
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


def add_noise(rng: random.Random, text: str, label: str) -> str:
    if label != "chitchat" and rng.random() < 0.16:
        p = rng.choice(PREFIXES)
        text = p + text[0].lower() + text[1:] if not text[:3].isupper() else p + text
    if label != "chitchat" and rng.random() < 0.12:
        text = text.rstrip("?") + rng.choice(SUFFIXES)
    if rng.random() < 0.10:
        pat, rep = rng.choice(ABBREVIATIONS)
        text = re.sub(pat, rep, text, count=1, flags=re.IGNORECASE)
    if rng.random() < 0.15:
        text = typo(rng, text)
    if rng.random() < 0.20:
        text = strip_accents(text).replace("'e ", "e ").replace("'è", "'e")
    if rng.random() < 0.25:
        text = text.rstrip("?!.")
    r = rng.random()
    if r < 0.28:
        text = text.lower()
    elif r < 0.30:
        text = text.upper()
    return text.strip()


# --------------------------------------------------------------------------
# Near-duplicate control
# --------------------------------------------------------------------------

def norm_key(text: str) -> str:
    t = strip_accents(text.lower())
    return re.sub(r"[^a-z0-9]+", " ", t).strip()


def word_set(text: str) -> frozenset:
    return frozenset(w for w in norm_key(text).split() if not any(c.isdigit() for c in w))


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def too_similar(key: str, ws: frozenset, others) -> bool:
    """True if (key, ws) is a near-copy of any (key, word set) in others."""
    sm = difflib.SequenceMatcher(None, autojunk=False)
    sm.set_seq2(key)
    for other_key, other_ws in others:
        if jaccard(ws, other_ws) >= MAX_JACCARD:
            return True
        sm.set_seq1(other_key)
        if sm.real_quick_ratio() >= MAX_CHAR_RATIO and sm.quick_ratio() >= MAX_CHAR_RATIO \
                and sm.ratio() >= MAX_CHAR_RATIO:
            return True
    return False


MAX_JACCARD = 0.75
MAX_CHAR_RATIO = 0.85


def generate_split(rng, label, split, n, taken_keys, compare=None):
    templates = TEMPLATES[label][split]
    filler = Filler(rng, split)
    rows = []
    attempts = 0
    order = []
    while len(rows) < n:
        attempts += 1
        if attempts > n * 200:
            raise RuntimeError(f"could not generate {n} distinct {split} rows for {label}")
        if not order:
            order = list(templates)
            rng.shuffle(order)
        template = order.pop()
        text = add_noise(rng, filler.fill(template), label)
        key = norm_key(text)
        if not key or key in taken_keys:
            continue
        if compare is not None:
            ws = word_set(text)
            if too_similar(key, ws, compare):
                continue
            compare.append((key, ws))
        taken_keys.add(key)
        rows.append({"text": text, "label": label})
    return rows


def main(argv=None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out-dir", default=here)
    args = ap.parse_args(argv)
    check_guard()
    # Separate streams so the held-out rows do not shift when training
    # templates are added (they still depend on training rows via the
    # near-duplicate filter).
    rng = random.Random(f"{args.seed}:train")
    held_rng = random.Random(f"{args.seed}:heldout")

    train_keys: set[str] = set()
    train_rows = []
    for label in LABELS:
        train_rows += generate_split(rng, label, "train", N_TRAIN_PER_LABEL, train_keys)
    for text, label in HARD_TRAIN:
        if norm_key(text) not in train_keys:
            train_keys.add(norm_key(text))
            train_rows.append({"text": text, "label": label})
    rng.shuffle(train_rows)

    # Every held-out row is compared with every training row (any label) and
    # with the held-out rows accepted before it.
    compare = [(norm_key(r["text"]), word_set(r["text"])) for r in train_rows]

    held_keys = set(train_keys)
    held_rows = []
    for label in LABELS:
        held_rows += generate_split(held_rng, label, "heldout", N_HELDOUT_PER_LABEL, held_keys, compare)
    for text, label in HARD_HELDOUT:
        key, ws = norm_key(text), word_set(text)
        if key in held_keys or too_similar(key, ws, compare):
            raise RuntimeError(f"hard held-out row overlaps other data: {text}")
        compare.append((key, ws))
        held_keys.add(key)
        held_rows.append({"text": text, "label": label})
    held_rng.shuffle(held_rows)

    # feedback.jsonl is what the release exports: clean, since modelship stops on malformed lines and
    # unknown labels (exit 2). feedback-raw.jsonl is the same rows with malformed / unknown-label rows
    # spread in, to show the validation of modelship (it refuses) and of the trainer (it skips them).
    lines = [json.dumps(r, ensure_ascii=False) for r in train_rows]
    raw_lines = list(lines)
    extras = BAD_LINES + [json.dumps(r, ensure_ascii=False) for r in UNKNOWN_LABEL_ROWS]
    positions = sorted(rng.sample(range(10, len(raw_lines)), len(extras)))
    for offset, (pos, extra) in enumerate(zip(positions, extras)):
        raw_lines.insert(pos + offset, extra)

    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "feedback.jsonl"), "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out_dir, "feedback-raw.jsonl"), "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(raw_lines) + "\n")
    with open(os.path.join(args.out_dir, "heldout.jsonl"), "w", encoding="utf-8", newline="\n") as fh:
        for r in held_rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")

    def counts(rows):
        c = {label: 0 for label in LABELS}
        for r in rows:
            c[r["label"]] += 1
        return c

    print(f"feedback.jsonl: {len(lines)} lines {counts(train_rows)}")
    print(f"feedback-raw.jsonl: {len(raw_lines)} lines ({len(train_rows)} valid, {len(extras)} invalid)")
    print(f"heldout.jsonl: {len(held_rows)} lines {counts(held_rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
