"""Training paraphrases written for Baton, expanded from compact templates (``data/intent/train.jsonl``).

A template is a sentence with choices: ``"[can i|could i] speak to [a human|an agent]"``; :func:`expand`
draws distinct variants with a fixed seed, so the training file is reproducible. Each family carries its
intents, topic and language. The blind test split (``data/intent/test.jsonl``) is NOT generated here: it was
written by hand, separately, as whole customer messages, and is never used for training or tuning.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

_CHOICE = re.compile(r"\[([^\[\]]*)\]")

# (lang, intents, topic, how many variants, templates). topic "" = take it from a context clause {ctx}.
Family = tuple[str, tuple[str, ...], str, int, tuple[str, ...]]

CTX: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "billing": ("about my invoice", "about a charge on my card", "regarding my bill", "about the payment",
                    "about my subscription fee", "about the refund"),
        "technical": ("about the widget not loading", "the API keeps returning 500", "about the integration error",
                      "the app crashes on login", "about a bug in the dashboard", "the webhook stopped firing"),
        "account": ("about my login", "i am locked out of my account", "about resetting my password",
                    "about my two factor code", "to change the account owner", "about deleting my account"),
        "sales": ("about the enterprise plan pricing", "to get a quote for 50 seats", "about a demo for my team",
                  "about upgrading to the business plan", "about a volume discount"),
        "general": ("", "", "", "please", "asap", "now"),
    },
    "es": {
        "billing": ("sobre mi factura", "por un cargo en mi tarjeta", "sobre el pago", "por el reembolso",
                    "sobre la cuota de la suscripcion"),
        "technical": ("el widget no carga", "la api devuelve errores", "por un fallo en la integracion",
                      "la app se cierra al entrar", "hay un error en el panel"),
        "account": ("no puedo entrar en mi cuenta", "sobre mi contrasena", "por el codigo de verificacion",
                    "para cambiar el titular de la cuenta", "para borrar mi cuenta"),
        "sales": ("sobre el precio del plan enterprise", "para un presupuesto de 50 licencias",
                  "para una demo con mi equipo", "para pasar al plan business"),
        "general": ("", "", "por favor", "ya", "ahora mismo"),
    },
    "fr": {
        "billing": ("au sujet de ma facture", "pour un prelevement sur ma carte", "concernant le paiement",
                    "pour le remboursement", "au sujet de mon abonnement"),
        "technical": ("le widget ne charge plus", "l'api renvoie des erreurs", "pour un bug dans l'integration",
                      "l'appli plante au demarrage", "il y a une erreur dans le tableau de bord"),
        "account": ("je n'arrive plus a me connecter", "pour mon mot de passe", "pour le code de double authentification",
                    "pour changer le proprietaire du compte", "pour supprimer mon compte"),
        "sales": ("pour le tarif de l'offre entreprise", "pour un devis pour 50 postes", "pour une demo avec mon equipe",
                  "pour passer a l'offre business"),
        "general": ("", "", "svp", "s'il vous plait", "maintenant"),
    },
    "de": {
        "billing": ("wegen meiner Rechnung", "wegen einer Abbuchung", "wegen der Zahlung", "wegen der Erstattung",
                    "wegen meines Abos"),
        "technical": ("das Widget laedt nicht", "die API liefert Fehler", "wegen eines Fehlers in der Integration",
                      "die App stuerzt beim Start ab", "im Dashboard ist ein Bug"),
        "account": ("ich komme nicht in mein Konto", "wegen meines Passworts", "wegen des Bestaetigungscodes",
                    "um den Kontoinhaber zu aendern", "um mein Konto zu loeschen"),
        "sales": ("wegen der Preise fuer Enterprise", "fuer ein Angebot fuer 50 Lizenzen", "fuer eine Demo mit meinem Team",
                  "um auf Business zu wechseln"),
        "general": ("", "", "bitte", "sofort", "jetzt"),
    },
}

FAMILIES: tuple[Family, ...] = (
    # ---- asks for a person -------------------------------------------------------------------------------
    ("en", ("person",), "", 150, (
        "[can i|could i|may i|i want to|i need to|i'd like to|let me|i wanna|pls let me] [speak|talk|chat] [to|with] "
        "[a human|a real person|an agent|a live agent|someone|a representative|a rep|an operator|customer service|"
        "your support team|someone from your team|a supervisor|a manager|an actual human being|a staff member] {ctx}",
        "[connect|transfer|put] me [to|through to|with] [a human|an agent|a real person|a representative|"
        "customer service|someone in billing|your support staff|an operator|a specialist] {ctx}",
        "[how do i|how can i|is there a way to|where can i] [contact|reach|get hold of|get in touch with|call|email] "
        "[a human|your support team|customer service|an agent|a person|someone] {ctx}",
        "[i can't|i cannot|i couldn't|i'm unable to|unable to|can't seem to] [get to|reach|get through to|find|contact] "
        "[a live agent|a human|a person|customer service|an operator|anyone real] {ctx}",
        "[is there|are there] [anyone|a human|a person|a real agent|somebody] [i can talk to|available|there|"
        "who can help] {ctx}",
        "[stop|enough with] the [bot|robot|automated answers|ai] [, get me a human|, i want a person|, real agent please|"
        "and let me talk to someone]",
        "[human|agent|operator|representative|real person|live chat|live agent][ please| pls| now|!!|]",
        "[i'd rather|i prefer to|i would prefer to] [talk to|deal with|chat with] a [person|human|real agent] {ctx}",
        "[please have|can you have|i want] [someone|a person|an agent|a member of staff] [call me|contact me|"
        "email me|get back to me|reach out to me] {ctx}",
        "you're a bot, [i need|i want|give me] [a human|a person|someone real] {ctx}",
        "[escalate this|escalate me|pass me on] to [a human|your team|a supervisor|a real person|support] {ctx}",
        "[i need|i want|i demand|i'd like] [a human|an agent|a person|human support|human help|a call back] {ctx}",
        "[chatting with|talking to] [an operator|a human|an assistant|a real agent] would [help|be better|be great]",
        "i [wnat|wanna|want] to [tlak|talk|spek] to a [humna|human|preson|person|agnet|agent]",
    )),
    ("es", ("person",), "", 110, (
        "[quiero|necesito|me gustaria|puedo|quisiera] [hablar|chatear|comunicarme] con [una persona|un agente|"
        "un humano|alguien|un operador|atencion al cliente|un asesor|un supervisor|alguien de su equipo] {ctx}",
        "[pasame|pongame|paseme|comunicame] con [una persona|un agente|un humano|un operador|soporte] {ctx}",
        "[como puedo|donde puedo|hay forma de] [contactar|hablar con|llamar a|escribir a] [atencion al cliente|"
        "una persona|un agente|el soporte] {ctx}",
        "no [consigo|puedo|logro] [hablar con|contactar con|llegar a] [un agente|una persona|nadie real|un humano] {ctx}",
        "[hay alguien|hay una persona|hay algun agente] [ahi|disponible|con quien hablar] {ctx}",
        "[basta de|deja el|no quiero el] [bot|robot|chat automatico], [quiero|dame] una persona",
        "[agente|persona|humano|operador|asesor][ por favor| ya|!!|]",
        "[que me llame|quiero que me contacte|que me escriba] [alguien|una persona|un agente] {ctx}",
        "[kiero|qiero|quiero] ablar con [una persona|un ajente|un agente]",
    )),
    ("fr", ("person",), "", 110, (
        "[je veux|je voudrais|j'aimerais|puis-je|je dois] [parler|discuter|echanger] [a|avec] [un humain|un conseiller|"
        "une vraie personne|un agent|quelqu'un|un operateur|le service client|un responsable|quelqu'un de votre equipe] {ctx}",
        "[passez-moi|mettez-moi en relation avec|transferez-moi a] [un conseiller|un humain|un agent|le support] {ctx}",
        "[comment|ou] [puis-je|je peux] [contacter|joindre|appeler|ecrire a] [le service client|un conseiller|"
        "une personne|le support] {ctx}",
        "[je n'arrive pas a|impossible de|je ne peux pas] [joindre|parler a|contacter|avoir] [un conseiller|"
        "un humain|quelqu'un|un agent] {ctx}",
        "[il y a quelqu'un|y a-t-il un conseiller|quelqu'un peut] [pour m'aider|disponible|me repondre] {ctx}",
        "[arretez le|assez du|marre du] [robot|bot|chat automatique], [je veux|passez-moi] un humain",
        "[conseiller|humain|agent|operateur][ svp| s'il vous plait|!!|]",
        "[qu'un conseiller me rappelle|je veux etre rappele|faites-moi rappeler] {ctx}",
        "je [veu|veux] parler a un [conseiler|conseiller|humin|humain]",
    )),
    ("de", ("person",), "", 110, (
        "[ich will|ich moechte|ich muss|kann ich|darf ich] [mit einem Menschen|mit einem Mitarbeiter|mit jemandem|"
        "mit einem echten Menschen|mit dem Kundenservice|mit einem Berater|mit einem Vorgesetzten|mit jemandem aus Ihrem Team] "
        "[sprechen|reden|chatten] {ctx}",
        "[verbinden Sie mich|leiten Sie mich weiter|stellen Sie mich durch] [mit einem Mitarbeiter|zu einem Menschen|"
        "zum Support|an einen Berater] {ctx}",
        "wie [kann ich|erreiche ich|kontaktiere ich] [den Kundenservice|einen Mitarbeiter|einen Menschen|den Support] {ctx}",
        "ich [erreiche|bekomme|finde] [keinen Mitarbeiter|keinen Menschen|niemanden|keinen Berater] {ctx}",
        "[ist da jemand|gibt es einen Mitarbeiter|kann mir ein Mensch] [der mir hilft|erreichbar|helfen] {ctx}",
        "[schluss mit dem|genug vom|kein] [Bot|Roboter|Chatbot], [ich will|geben Sie mir] einen Menschen",
        "[Mitarbeiter|Mensch|Berater|echter Mensch][ bitte| sofort|!!|]",
        "[bitte rufen Sie mich zurueck|ich will einen Rueckruf|jemand soll mich anrufen] {ctx}",
        "ich will mit einem [mitarbieter|mitarbeiter|menschn|menschen] [sprechn|sprechen]",
    )),
    # ---- asks for a person: call-backs, contact, superiors, "anyone there?" ----------------------------------
    ("en", ("person",), "", 80, (
        "[someone|somebody|one of you|a person] [needs to|has to|must|should] [call me|ring me|email me|get back to me]"
        " [today|asap|right away|this afternoon|before 5pm][, it's urgent|, urgent!|, order 4411 is stuck|]",
        "[put me in touch with|connect me with|i need to be put in contact with] [the tech team|your engineers|"
        "billing|the accounts team|sales|someone senior] {ctx}",
        "[i demand|i want|get me] [your supervisor|a supervisor|your manager|someone in charge|a team lead]",
        "is [a human|anyone|a real person|someone from support] [reachable|around|online|there] right now? {ctx}",
        "[is there really nobody|is there no one|isn't there anyone] [i can talk to|to talk to|who can help]? {ctx}",
    )),
    ("es", ("person",), "", 60, (
        "[que alguien|necesito que alguien|alguien tiene que] me [llame|escriba|contacte] [hoy|ya|cuanto antes]"
        "[, es urgente|, urgente|]",
        "[ponme|ponganme|pongame] en contacto con [el equipo tecnico|facturacion|ventas|alguien de cuentas|soporte] {ctx}",
        "[exijo|quiero] hablar con [su supervisor|un responsable|el encargado|un jefe]",
        "[hay alguien|hay una persona|hay algun humano] [disponible|conectado|ahi] ahora? {ctx}",
        "[de verdad no hay nadie|no hay nadie] con quien hablar? {ctx}",
    )),
    ("fr", ("person",), "", 60, (
        "[il faut que quelqu'un|quelqu'un doit|j'ai besoin que quelqu'un] m'[appelle|ecrive|recontacte] "
        "[aujourd'hui|rapidement|au plus vite][, c'est urgent|, urgent|]",
        "[mettez-moi|merci de me mettre] en contact avec [l'equipe technique|la facturation|les ventes|le service comptes] {ctx}",
        "[je demande|j'exige|je veux] [un responsable|votre superieur|le manager|un chef d'equipe]",
        "[il y a quelqu'un|y a-t-il un humain|un conseiller est-il] [disponible|en ligne|la] maintenant ? {ctx}",
        "[il n'y a vraiment personne|il n'y a personne] a qui parler ? {ctx}",
    )),
    ("de", ("person",), "", 60, (
        "[es muss mich|bitte soll mich|kann mich] [heute noch|sofort|bald] jemand [anrufen|zurueckrufen|anschreiben]"
        "[, dringend|, es ist dringend|]",
        "[verbinden Sie mich|stellen Sie bitte den Kontakt her] mit [dem Technikteam|der Buchhaltung|dem Vertrieb|"
        "jemandem vom Kontoteam] {ctx}",
        "ich [verlange|will|moechte] [Ihren Vorgesetzten|einen Vorgesetzten|den Teamleiter|einen Verantwortlichen]",
        "ist [gerade|jetzt] [ein Mensch|jemand|ein Mitarbeiter] erreichbar? {ctx}",
        "gibt es [wirklich niemanden|keinen Menschen], mit dem ich sprechen kann? {ctx}",
    )),
    # ---- "can I …?" how-to questions: the words of a request for a person, asking for nothing -----------
    ("en", ("info",), "", 60, (
        "[can i|could i|may i|am i able to|is it possible to] [change the email on my profile|add users to my plan|"
        "export my contacts|pay by bank transfer|use the widget on two sites|rename my workspace|get invoices in pdf|"
        "switch to yearly billing|delete old conversations|set office hours]?",
        "[when|at what time] [is|are] [your support|your agents|customer service|the team] [available|online|open]?",
        "does the [enterprise|business] plan [include|come with] a [dedicated account manager|personal contact|named csm]?",
    )),
    ("es", ("info",), "", 45, (
        "[puedo|se puede|es posible] [cambiar el correo de mi perfil|anadir usuarios|exportar los contactos|pagar por "
        "transferencia|usar el widget en dos webs|descargar las facturas en pdf]?",
        "[a que hora|cuando] [esta disponible el soporte|atienden los agentes|abre atencion al cliente]?",
        "el plan enterprise [incluye|tiene] un [gestor de cuenta|contacto personal]?",
    )),
    ("fr", ("info",), "", 45, (
        "[je peux|est-ce que je peux|peut-on|est-il possible de] [modifier l'email de mon profil|ajouter des utilisateurs|"
        "exporter mes contacts|payer par virement|utiliser le widget sur deux sites|telecharger les factures en pdf] ?",
        "[a quelle heure|quand] [le support est-il disponible|les conseillers sont-ils joignables|ouvre le service client] ?",
        "l'offre entreprise [inclut|comprend]-elle un [interlocuteur dedie|gestionnaire de compte] ?",
    )),
    ("de", ("info",), "", 45, (
        "[kann ich|koennen wir|ist es moeglich,] [die E-Mail in meinem Profil aendern|Nutzer hinzufuegen|"
        "Kontakte exportieren|per Ueberweisung zahlen|das Widget auf zwei Seiten nutzen|Rechnungen als PDF laden]?",
        "[wann|zu welchen Zeiten] [sind eure Mitarbeiter erreichbar|ist der Support da|ist der Kundenservice offen]?",
        "ist beim Enterprise-Tarif ein [persoenlicher Ansprechpartner|Account Manager] dabei?",
    )),
    # ---- "human" and "person" in questions that ask for nobody ------------------------------------------
    ("en", ("info",), "", 30, (
        "is this a [human resources|hr|people team] [topic|question|issue] or a [billing|technical|sales] one?",
        "[does|can] [the widget|your api|baton] [integrate with|sync with|connect to] [our hr tool|human resources software|"
        "personio|bamboohr]?",
        "[how do i|where do i] [set|change|configure] [when|how] the bot hands over to a [human|person|live agent]?",
        "can [my customers|visitors|users] ask for a [human|real person|live agent] [from the widget|in the chat]?",
    )),
    ("es", ("info",), "", 15, (
        "[esto es|es] un tema de [recursos humanos|rrhh] o de [facturacion|soporte tecnico]?",
        "como configuro [cuando|que] el bot pase la conversacion a [una persona|un agente humano]?",
    )),
    ("fr", ("info",), "", 15, (
        "c'est une question [ressources humaines|rh] ou [facturation|technique] ?",
        "comment configurer [quand|que] le bot transfere a [un conseiller humain|une personne] ?",
    )),
    ("de", ("info",), "", 15, (
        "ist das ein [Personalthema|HR-Thema] oder eine [Abrechnungsfrage|technische Frage]?",
        "wie stelle ich ein, [wann|dass] der Bot an einen [Menschen|menschlichen Mitarbeiter] uebergibt?",
    )),
    # ---- complaint ---------------------------------------------------------------------------------------
    ("en", ("complaint",), "", 90, (
        "[i want to|i'd like to|i need to|how do i|i'm going to] [file|make|lodge|submit|raise|open] a [formal |official |]"
        "complaint {ctx}",
        "[i want to|i will|i'd like to] make a claim against [you|your company|this service]",
        "[this is|consider this] a [formal |]complaint[ about the service|| about your agent| about the delays]",
        "[i am|i'm] [very unhappy|extremely dissatisfied|fed up|not happy at all] with [your service|the support|"
        "how this was handled|the product] and want to complain",
        "[where do i send|who handles|how do i escalate] a complaint {ctx}",
        "[i wish to|i want to] complain about [the service|your staff|the way i was treated|the outage]",
        "this service is [terrible|a joke|awful|useless] and i'm [complaining|filing a complaint|reporting this]",
        "[i want to|let me] [submit|send] a reclamation {ctx}",
    )),
    ("es", ("complaint",), "", 60, (
        "[quiero|voy a|necesito|como puedo] [poner|presentar|hacer] una [queja|reclamacion|reclamación] {ctx}",
        "[estoy|estamos] muy [descontento|descontentos|molesto|insatisfecho] con [el servicio|la atencion|ustedes] "
        "y quiero [quejarme|reclamar]",
        "[esto es|considérenlo] una [queja formal|reclamacion formal]",
        "[donde|a quien] [envio|presento] una [queja|reclamacion] {ctx}",
        "[quiero|necesito] el libro de reclamaciones",
    )),
    ("fr", ("complaint",), "", 60, (
        "[je veux|je voudrais|je vais|comment] [deposer|faire|porter|envoyer] une [reclamation|plainte|réclamation] {ctx}",
        "[je suis|nous sommes] tres [mecontent|mecontents|decu|insatisfait] [du service|de votre support|de vous] "
        "et je [veux me plaindre|fais une reclamation]",
        "[ceci est|considerez ceci comme] une reclamation [officielle|formelle]",
        "[a qui|ou] [adresser|envoyer] une reclamation {ctx}",
    )),
    ("de", ("complaint",), "", 60, (
        "[ich will|ich moechte|ich werde|wie kann ich] [eine Beschwerde einreichen|mich beschweren|"
        "eine Reklamation einreichen|Beschwerde einlegen] {ctx}",
        "ich bin [sehr unzufrieden|extrem veraergert|total enttaeuscht] [mit Ihrem Service|mit dem Support|mit Ihnen] "
        "und [beschwere mich|will mich beschweren]",
        "[das ist|betrachten Sie das als] eine [offizielle |foermliche |]Beschwerde",
        "[wo|an wen] [richte ich|schicke ich] eine Beschwerde {ctx}",
    )),
    # ---- refund / money-back demand ----------------------------------------------------------------------
    ("en", ("refund",), "billing", 110, (
        "[i want|i need|i demand|give me|i expect|please issue] [a refund|my money back|a full refund|"
        "reimbursement|compensation|a credit back|the money returned][ now| immediately| for this month| for the "
        "double charge|]",
        "[refund me|reimburse me|pay me back|give back my money|return my money][ now|!| please| asap|]",
        "i [should|deserve to|want to] be [refunded|reimbursed|compensated] for [this|the outage|the lost time|"
        "the wrong charge]",
        "[i'm not paying for this|you charged me for nothing], [refund it|i want it back|give me the money back]",
        "[cancel the charge and|please] [refund|reverse|return] [the payment|the charge|my money|what i paid]",
        "i [want|need] [to get|] my money back [for the subscription|for last month|for the order|]",
        "[rembourse me|i want a refnd|refund plz|where's my refund, i want it]",
    )),
    ("es", ("refund",), "billing", 80, (
        "[quiero|exijo|necesito|pido] [un reembolso|que me devuelvan el dinero|la devolucion de mi dinero|"
        "una compensacion|el reembolso completo][ ya| ahora| de este mes|]",
        "[devuelvanme|devolvedme|reembolsenme] [el dinero|lo que pague|el cargo][ ya| por favor|]",
        "[merezco|quiero] [una compensacion|un reembolso] por [el fallo|la caida del servicio|este cobro]",
        "[no pienso pagar esto|me cobraron por nada], [quiero mi dinero|devuelvanlo]",
    )),
    ("fr", ("refund",), "billing", 80, (
        "[je veux|j'exige|je demande|il me faut] [un remboursement|mon argent|etre rembourse|un dedommagement|"
        "une compensation|le remboursement integral][ maintenant| tout de suite| pour ce mois|]",
        "[remboursez-moi|rendez-moi mon argent|rendez-moi ce que j'ai paye][ svp| maintenant|!|]",
        "je [merite|veux] [un dedommagement|une indemnisation|un remboursement] pour [la panne|ce prelevement|ce probleme]",
        "[je ne paierai pas ca|vous m'avez facture pour rien], [remboursez|je veux mon argent]",
    )),
    ("de", ("refund",), "billing", 80, (
        "[ich will|ich verlange|ich fordere|ich brauche] [eine Erstattung|mein Geld zurueck|eine Rueckerstattung|"
        "eine Entschaedigung|eine Gutschrift|eine Kompensation][ sofort| jetzt| fuer diesen Monat|]",
        "[erstatten Sie mir|geben Sie mir] [das Geld|den Betrag|mein Geld][ zurueck| sofort zurueck| bitte zurueck]",
        "ich [will|verlange] [Schadenersatz|eine Entschaedigung|eine Erstattung] fuer [den Ausfall|die Abbuchung|das]",
        "[das zahle ich nicht|Sie haben mir zu viel berechnet], [erstatten Sie das|ich will mein Geld]",
    )),
    # ---- payment problem ---------------------------------------------------------------------------------
    ("en", ("payment",), "billing", 110, (
        "[i was|i got|i've been|we were|you] charged twice [for the same month|this month|for one order|today|]",
        "[my payment|the payment|my card payment|the charge|the transaction] [failed|was declined|didn't go through|"
        "is stuck|bounced|was rejected|keeps failing][ but the money left my account| again| twice|]",
        "[i want to|i need to|how do i|where can i] report [a problem|problems|an issue] with [payments|my payment|"
        "a charge|my card]",
        "there's [a charge|a payment|a transaction|an amount] i [don't recognise|didn't make|never authorised] "
        "[on my card|on my statement|from you|]",
        "[you took|you charged|i paid] [the wrong amount|too much|double|twice|more than the plan price]",
        "[the money was taken but|i paid but] [my plan is still unpaid|the invoice says unpaid|nothing changed]",
        "[my card|the card] [keeps getting declined|was rejected|won't work] when i [pay|try to pay|renew]",
        "[duplicate charge|double charge|charged 2x|payment error][ on my account| again|!|]",
    )),
    ("es", ("payment",), "billing", 80, (
        "me [cobraron|han cobrado|habeis cobrado] dos veces [el mismo mes|este mes|la misma factura|]",
        "[el pago|mi pago|el cobro|la transaccion] [fallo|fue rechazado|no se completo|esta bloqueado][ pero me cobraron|]",
        "[quiero|necesito|como puedo] [reportar|informar de] un problema con [el pago|los pagos|un cargo]",
        "hay un cargo [que no reconozco|que no hice|duplicado] [en mi tarjeta|en mi cuenta|]",
        "me [cobraron|cobrasteis] [de mas|el importe equivocado|el doble]",
        "[mi tarjeta|la tarjeta] [es rechazada|no funciona|da error] al pagar",
    )),
    ("fr", ("payment",), "billing", 80, (
        "[j'ai ete|on m'a|vous m'avez] [preleve|debite|facture] deux fois [ce mois-ci|pour la meme facture|]",
        "[le paiement|mon paiement|le prelevement|la transaction] [a echoue|a ete refuse|n'est pas passe|est bloque]"
        "[ mais j'ai ete debite|]",
        "[je veux|je dois|comment] signaler un probleme [de paiement|avec un paiement|avec un prelevement]",
        "il y a un [prelevement|debit|paiement] [que je ne reconnais pas|en double|inconnu] [sur ma carte|sur mon compte|]",
        "vous m'avez [facture|preleve] [le mauvais montant|trop|le double]",
        "ma carte [est refusee|ne passe pas|est rejetee] [au paiement|quand je paie]",
    )),
    ("de", ("payment",), "billing", 80, (
        "[mir wurde|Sie haben mir|es wurde] [doppelt|zweimal] [abgebucht|berechnet|belastet][ diesen Monat|]",
        "[die Zahlung|meine Zahlung|die Abbuchung|die Transaktion] [ist fehlgeschlagen|wurde abgelehnt|ging nicht durch|"
        "haengt][ aber das Geld ist weg|]",
        "[ich will|ich muss|wie kann ich] [ein Problem|Probleme] mit [Zahlungen|der Zahlung|einer Abbuchung] melden",
        "da ist eine [Abbuchung|Belastung|Zahlung] [die ich nicht kenne|die ich nicht gemacht habe|doppelt] "
        "[auf meiner Karte|auf meinem Konto|]",
        "Sie haben [den falschen Betrag|zu viel|das Doppelte] [abgebucht|berechnet]",
        "meine Karte wird [abgelehnt|nicht akzeptiert] beim [Bezahlen|Verlaengern]",
    )),
    # ---- cancellation threat -----------------------------------------------------------------------------
    ("en", ("cancel",), "billing", 80, (
        "[i'm going to|i will|i'm about to|we'll|i want to|i'm ready to] cancel [my subscription|my account|"
        "the contract|our plan|everything][ if this isn't fixed| today| right now|]",
        "[i'm switching|we're moving|i'll go|we will switch] to [a competitor|another provider|zendesk|intercom|"
        "someone else][ unless you fix this| next month|]",
        "[this is the last straw|i've had enough|i'm done with you], [i'm cancelling|i'm leaving|we're out]",
        "[close my account|cancel my plan|terminate my contract|end my subscription][ now| today| please|]",
        "[we are|i am] [thinking about|considering] [leaving|cancelling|not renewing|dropping your service]",
    )),
    ("es", ("cancel",), "billing", 60, (
        "[voy a|quiero|vamos a] [cancelar|dar de baja] [mi suscripcion|la cuenta|el contrato|el plan][ hoy| si no lo arreglan|]",
        "[me voy|nos vamos|me paso] a [la competencia|otro proveedor|otra empresa]",
        "[estoy harto|ya basta], [me doy de baja|cancelo todo]",
        "[estamos|estoy] pensando en [irnos|cancelar|no renovar]",
    )),
    ("fr", ("cancel",), "billing", 60, (
        "[je vais|je veux|nous allons] [resilier|annuler] [mon abonnement|le contrat|mon compte|l'offre]"
        "[ aujourd'hui| si ce n'est pas regle|]",
        "[je pars|nous partons|je passe] chez [un concurrent|un autre fournisseur|la concurrence]",
        "[j'en ai marre|c'est fini], [je resilie|je m'en vais]",
        "[nous pensons|je pense] a [partir|resilier|ne pas renouveler]",
    )),
    ("de", ("cancel",), "billing", 60, (
        "[ich werde|ich will|wir werden] [mein Abo|den Vertrag|mein Konto|den Plan] [kuendigen|beenden]"
        "[ heute| wenn das nicht behoben wird|]",
        "[ich wechsle|wir wechseln|ich gehe] zur [Konkurrenz|einem anderen Anbieter]",
        "[mir reichts|es reicht], [ich kuendige|wir sind weg]",
        "wir [ueberlegen|denken darueber nach] zu [kuendigen|wechseln|nicht zu verlaengern]",
    )),
    # ---- security ----------------------------------------------------------------------------------------
    ("en", ("security",), "account", 80, (
        "[someone|somebody|a stranger|a hacker] [hacked|got into|logged into|took over] my account",
        "[my account was|i think my account has been|our workspace was] [hacked|compromised|breached|taken over]",
        "[i didn't|i did not] [request|ask for] this [password reset|login code|2fa code] [, someone is trying to log in|]",
        "[there's|i see] [a login|logins|activity] from [a country i've never been to|an unknown device|russia|"
        "an ip i don't know]",
        "[my password was stolen|i fell for a phishing email|someone has my api key|our api key leaked]",
    )),
    ("es", ("security",), "account", 50, (
        "[alguien|un desconocido] [hackeo|entro en|accedio a] mi cuenta",
        "[mi cuenta|nuestra cuenta] [fue hackeada|esta comprometida|fue robada]",
        "[no pedi|no solicite] este [codigo|cambio de contrasena], alguien intenta entrar",
        "hay [accesos|un inicio de sesion] desde un [pais|dispositivo] desconocido",
    )),
    ("fr", ("security",), "account", 50, (
        "[quelqu'un|un inconnu] [a pirate|s'est connecte a|a pris le controle de] mon compte",
        "mon compte [a ete pirate|est compromis|a ete vole]",
        "je n'ai pas demande ce [code|changement de mot de passe], quelqu'un essaie de se connecter",
        "il y a [des connexions|une connexion] depuis un [pays|appareil] inconnu",
    )),
    ("de", ("security",), "account", 50, (
        "[jemand|ein Fremder] hat [mein Konto gehackt|sich in mein Konto eingeloggt|mein Konto uebernommen]",
        "mein Konto [wurde gehackt|ist kompromittiert|wurde gekapert]",
        "ich habe diesen [Code|Passwort-Reset] nicht angefordert, jemand versucht sich einzuloggen",
        "es gibt [Anmeldungen|einen Login] von einem unbekannten [Geraet|Land]",
    )),
    # ---- legal -------------------------------------------------------------------------------------------
    ("en", ("legal",), "general", 70, (
        "[i will|i'm going to|we'll|expect to hear from] [sue you|take you to court|contact my lawyer|"
        "get my lawyer involved|take legal action|report you to the ftc|file a chargeback and sue]",
        "[my lawyer|our attorney|our legal team] will [contact you|be in touch|handle this]",
        "this [is illegal|breaches the contract|violates consumer law], [expect legal action|see you in court]",
        "[i'm reporting you to|i'll complain to] [the consumer protection agency|the regulator|the ombudsman]",
    )),
    ("es", ("legal",), "general", 50, (
        "[voy a|vamos a] [demandarles|denunciarles|llevarles a juicio|hablar con mi abogado]",
        "mi abogado [se pondra en contacto|les escribira]",
        "esto es ilegal, [tomare medidas legales|nos vemos en los tribunales]",
        "les [voy a denunciar|denunciare] ante [consumo|la oficina del consumidor]",
    )),
    ("fr", ("legal",), "general", 50, (
        "[je vais|nous allons] [porter plainte|vous poursuivre en justice|saisir mon avocat|saisir la justice]",
        "mon avocat [va vous contacter|vous ecrira]",
        "c'est illegal, [je vais engager des poursuites|on se verra au tribunal]",
        "je [vais saisir|saisis] [la dgccrf|le mediateur|une association de consommateurs]",
    )),
    ("de", ("legal",), "general", 50, (
        "[ich werde|wir werden] [Sie verklagen|rechtliche Schritte einleiten|meinen Anwalt einschalten|Anzeige erstatten]",
        "mein Anwalt [wird sich melden|meldet sich bei Ihnen]",
        "das ist illegal, [ich gehe vor Gericht|wir sehen uns vor Gericht]",
        "ich [melde Sie|beschwere mich] bei der [Verbraucherzentrale|Aufsichtsbehoerde]",
    )),
)

# Informational questions and plain statements: no human needed (intent "info" for questions, none otherwise).
INFO: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "billing": (
            "[in which cases|when|under what conditions] can i get a refund[?|]",
            "what is your refund policy[?|]", "[how long does|how long do] a refund take[?| to arrive?]",
            "[do you offer|do you give] refunds on annual plans[?|]", "how does reimbursement work for annual plans[?|]",
            "[where can i|how do i] download my invoice[?|]", "[what payment methods|which cards] do you accept[?|]",
            "why is there a vat line on my invoice[?|]", "when will i be charged for the next month[?|]",
            "can i pay by bank transfer[?|]", "is compensation offered after an outage[?|]",
            "how do i update my card details[?|]", "what happens if a payment fails[?|]",
            "how do i change my billing address[?|]", "can you explain the charges on my invoice[?|]",
        ),
        "technical": (
            "how do i [install|embed|set up] the widget on [wordpress|shopify|my site][?|]",
            "does the api support [webhooks|pagination|oauth][?|]", "how do i change the launcher colour[?|]",
            "what is the rate limit of the api[?|]", "which browsers do you support[?|]",
            "[can i|how do i] connect [slack|teams|zapier] to my workspace[?|]",
            "how do i export conversations to csv[?|]", "is there a dark mode for the widget[?|]",
        ),
        "account": (
            "how do i [reset|change] my password[?|]", "how do i [enable|turn on] two factor authentication[?|]",
            "how can i add a teammate to my workspace[?|]", "how do i change the email on my account[?|]",
            "[how do i|can i] delete my account[?|]", "where do i see who logged in to my account[?|]",
            "how do i transfer ownership of the workspace[?|]", "how do you keep my data secure[?|]",
        ),
        "sales": (
            "how much is the business plan[?|]", "do you have discounts for nonprofits[?|]",
            "what's included in the enterprise plan[?|]", "is there a free trial[?|]",
            "can i get a demo[?| next week?]", "what is the price per seat[?|]",
        ),
        "general": (
            "what are your [opening|support|business] hours[?|]", "[do you have|is there] a phone number[?|]",
            "what does your company do[?|]", "where are you based[?|]", "is support available on weekends[?|]",
            "can i talk to a human [if|when] the bot can't help[?|]", "how do i contact support[?|]",
            "how do i file a complaint if i ever need to[?|]", "what is your cancellation policy[?|]",
            "how do i cancel my subscription[?|]",
        ),
    },
    "es": {
        "billing": ("[en que casos|cuando] puedo pedir un reembolso[?|]", "cual es su politica de reembolsos[?|]",
                    "cuanto tarda un reembolso[?|]", "donde descargo mi factura[?|]", "que metodos de pago aceptan[?|]",
                    "como cambio los datos de mi tarjeta[?|]", "cuando se cobra la proxima cuota[?|]"),
        "technical": ("como instalo el widget en [wordpress|shopify|mi web][?|]", "la api tiene webhooks[?|]",
                      "como cambio el color del boton[?|]", "que navegadores soportan[?|]"),
        "account": ("como [cambio|restablezco] mi contrasena[?|]", "como activo la verificacion en dos pasos[?|]",
                    "como anado a un companero[?|]", "como borro mi cuenta[?|]"),
        "sales": ("cuanto cuesta el plan business[?|]", "hay prueba gratuita[?|]", "tienen descuentos para ong[?|]"),
        "general": ("cual es su horario de atencion[?|]", "tienen telefono de contacto[?|]",
                    "como contacto con soporte[?|]", "como cancelo mi suscripcion[?|]",
                    "cual es la politica de cancelacion[?|]"),
    },
    "fr": {
        "billing": ("dans quels cas puis-je [etre rembourse|obtenir un remboursement][?|]",
                    "quelle est votre politique de remboursement[?|]", "combien de temps prend un remboursement[?|]",
                    "ou telecharger ma facture[?|]", "quels moyens de paiement acceptez-vous[?|]",
                    "comment changer ma carte bancaire[?|]", "quand serai-je preleve le mois prochain[?|]"),
        "technical": ("comment installer le widget sur [wordpress|shopify|mon site][?|]", "l'api gere-t-elle les webhooks[?|]",
                      "comment changer la couleur du bouton[?|]", "quels navigateurs sont supportes[?|]"),
        "account": ("comment [changer|reinitialiser] mon mot de passe[?|]", "comment activer la double authentification[?|]",
                    "comment ajouter un collegue[?|]", "comment supprimer mon compte[?|]"),
        "sales": ("combien coute l'offre business[?|]", "y a-t-il un essai gratuit[?|]", "avez-vous des remises pour les associations[?|]"),
        "general": ("quels sont vos horaires[?|]", "avez-vous un numero de telephone[?|]",
                    "comment contacter le support[?|]", "comment resilier mon abonnement[?|]",
                    "quelle est la politique d'annulation[?|]"),
    },
    "de": {
        "billing": ("in welchen Faellen bekomme ich eine Erstattung[?|]", "wie ist Ihre Erstattungsrichtlinie[?|]",
                    "wie lange dauert eine Rueckerstattung[?|]", "wo lade ich meine Rechnung herunter[?|]",
                    "welche Zahlungsarten akzeptieren Sie[?|]", "wie aendere ich meine Kreditkarte[?|]",
                    "wann wird der naechste Monat abgebucht[?|]"),
        "technical": ("wie installiere ich das Widget auf [WordPress|Shopify|meiner Seite][?|]",
                      "unterstuetzt die API Webhooks[?|]", "wie aendere ich die Farbe des Buttons[?|]",
                      "welche Browser werden unterstuetzt[?|]"),
        "account": ("wie [aendere|setze] ich mein Passwort [zurueck|][?|]", "wie aktiviere ich die Zwei-Faktor-Anmeldung[?|]",
                    "wie fuege ich einen Kollegen hinzu[?|]", "wie loesche ich mein Konto[?|]"),
        "sales": ("was kostet der Business-Plan[?|]", "gibt es eine kostenlose Testphase[?|]",
                  "gibt es Rabatte fuer Vereine[?|]"),
        "general": ("wann sind Sie erreichbar[?|]", "haben Sie eine Telefonnummer[?|]",
                    "wie erreiche ich den Support[?|]", "wie kuendige ich mein Abo[?|]",
                    "wie sind die Kuendigungsfristen[?|]"),
    },
}

# Statements with no intent at all (the AI can handle them): thanks, details, problem descriptions.
NONE: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "technical": ("the widget [doesn't show|isn't loading|disappears] on [mobile|safari|my checkout page]",
                      "i get a [404|500|timeout|cors error] when i call the api", "the webhook stopped firing yesterday",
                      "[i cleared the cache|i already reinstalled the plugin], same thing"),
        "account": ("i can't log in, it says my password is wrong", "i didn't get the verification email",
                    "my teammate can't see the inbox"),
        "billing": ("i just upgraded to the pro plan", "my invoice shows 7 seats but we have 5",
                    "i changed my card last week"),
        "general": ("[thanks|thank you|great], that [worked|fixed it|helps]", "ok[ i'll try that| got it|]",
                    "[hi|hello|hey] there", "perfect, [thanks|cheers]!", "i'm not angry, just confused",
                    "no i don't need a human, the bot solved it", "i don't want a refund, just an explanation",
                    "i'm not cancelling, i love the product"),
        "sales": ("we're a team of 40 agents evaluating tools", "we'd like to roll this out to three brands"),
    },
    "es": {"technical": ("el widget no aparece en el movil", "la api da error 500"),
           "general": ("gracias, ya funciona", "vale, lo pruebo", "hola buenas", "no necesito un agente, ya esta resuelto"),
           "billing": ("acabo de cambiar al plan pro",), "account": ("no me llega el correo de verificacion",)},
    "fr": {"technical": ("le widget ne s'affiche pas sur mobile", "l'api renvoie une erreur 500"),
           "general": ("merci, ca marche", "d'accord je teste", "bonjour", "pas besoin d'un conseiller, c'est regle"),
           "billing": ("je viens de passer a l'offre pro",), "account": ("je ne recois pas l'email de verification",)},
    "de": {"technical": ("das Widget erscheint nicht auf dem Handy", "die API gibt Fehler 500"),
           "general": ("danke, es funktioniert", "ok, ich probiere es", "hallo", "ich brauche keinen Mitarbeiter, es geht jetzt"),
           "billing": ("ich habe gerade auf Pro gewechselt",), "account": ("die Bestaetigungsmail kommt nicht an",)},
}


# Short acknowledgements and declined offers: the commonest customer turns, and no request at all.
# Negated demands and "no rush" asides: the words of a demand ("refund", "urgent", "an agent", "cancel") in a
# message that demands nothing. Without these the model learns the word, not the demand.
NEGATED: dict[str, tuple[str, ...]] = {
    "en": (
        "[no rush|not urgent|no hurry|this isn't urgent|it's not urgent at all|whenever you have time|low priority]"
        "[,|:| -|.] [there's a typo on the pricing page|can reports be emailed weekly?|is dark mode on the roadmap?|"
        "the logo looks blurry on retina screens|how do i export contacts?|a small bug: the date picker starts on sunday|"
        "could you add a german translation for the footer?|just curious how tags work]",
        "[no,|nah,|nope,|actually|no thanks,|] i [don't|do not] [need|want] a [refund|chargeback|credit|call back|"
        "human|person|agent|manager][, the credit is fine|, the answer helped|, that's all|, thanks|, you solved it|]",
        "no need to [escalate|call me|refund anything|cancel|get a human|involve a manager][, it works now|, thanks|"
        ", all good|]",
        "i'm not [cancelling|leaving|going anywhere|asking for a refund|complaining|angry][, just asking|, just curious|"
        ", i like the product|, just a question|]",
        "[all good|sorted|fixed],[ no need for an agent| no need for a refund| never mind the refund| ignore my last message]",
    ),
    "es": (
        "[no es urgente|sin prisa|cuando puedan|no corre prisa][,|:|.] [hay una errata en la web|se pueden enviar informes "
        "cada lunes?|el logo se ve borroso|como exporto los contactos?|un fallo pequeno en el calendario]",
        "no, no [necesito|quiero] [un reembolso|un agente|una persona|que me llamen|hablar con nadie][, el credito esta bien|"
        ", ya esta resuelto|, gracias|]",
        "no [voy a cancelar|me voy|estoy enfadado|pido un reembolso][, solo pregunto|, me gusta el producto|]",
    ),
    "fr": (
        "[rien d'urgent|pas urgent|pas presse|quand vous aurez le temps][,|:|.] [il y a une faute sur la page tarifs|"
        "peut-on recevoir les rapports chaque lundi ?|le logo est flou|comment exporter les contacts ?|petit bug sur le calendrier]",
        "non, je n'ai pas besoin [d'un remboursement|d'un conseiller|qu'on me rappelle|de parler a quelqu'un]"
        "[, l'avoir me va|, c'est regle|, merci|]",
        "je ne [vais pas resilier|pars pas|suis pas fache|demande pas de remboursement][, je pose juste la question|"
        ", j'aime le produit|]",
    ),
    "de": (
        "[nicht dringend|keine Eile|eilt nicht|wenn Sie Zeit haben][,|:|.] [auf der Preisseite ist ein Tippfehler|"
        "kann man Berichte jeden Montag mailen?|das Logo ist unscharf|wie exportiere ich Kontakte?|kleiner Fehler im Kalender]",
        "nein, ich brauche [keine Erstattung|keinen Mitarbeiter|keinen Rueckruf|niemanden][, die Gutschrift passt|"
        ", hat sich erledigt|, danke|]",
        "ich [kuendige nicht|gehe nicht|bin nicht sauer|will kein Geld zurueck][, nur eine Frage|, ich mag das Produkt|]",
    ),
}

SHORT: dict[str, tuple[str, ...]] = {
    "en": ("[thx|thanks|thank you|ty|cheers|great|nice|perfect|awesome|cool|done|ok|okay|got it|super|yes|no|sure|"
           "sounds good|that worked|all good|brilliant|lovely|fine|yep|nope|makes sense|understood|will do|hi|hello]"
           "[!| :)| thanks|, thx|.|]",
           "[no need to|i don't need to|i don't want to|don't|no reason to] [talk to|speak with|bother] "
           "[a person|a human|an agent|anyone|support] [, it works now|, thanks|, figured it out|]",
           "[not a complaint|no complaint|i'm not complaining], just [feedback|a question|curious]",
           "[i don't want|no need for] a refund, [just asking|only curious|thanks]",
           "[no|not] [cancelling|leaving], [just|only] [checking|asking]"),
    "es": ("[gracias|vale|perfecto|genial|listo|ok|de acuerdo|entendido|hola|buenas|si|no|muchas gracias|super]"
           "[!| :)|.|]",
           "no [necesito|hace falta] hablar con [nadie|una persona|un agente][, ya funciona|, gracias|]"),
    "fr": ("[merci|parfait|super|d'accord|ok|top|genial|compris|bonjour|salut|oui|non|merci beaucoup|nickel]"
           "[!| :)|.|]",
           "pas besoin de parler a [quelqu'un|un conseiller|un humain][, ca marche|, merci|]"),
    "de": ("[danke|super|perfekt|alles klar|ok|gut|verstanden|hallo|ja|nein|vielen dank|passt|prima|toll]"
           "[!| :)|.|]",
           "ich muss nicht mit [jemandem|einem Mitarbeiter|einem Menschen] sprechen[, es geht|, danke|]"),
}


def expand(template: str, rng: random.Random) -> str:
    """One random variant of ``template`` (every ``[a|b]`` replaced by one of its choices)."""
    return _CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), template)


def _variants(templates: tuple[str, ...], n: int, rng: random.Random, ctx: dict[str, tuple[str, ...]] | None,
              topic: str) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for _ in range(n * 6):
        if len(seen) >= n:
            break
        t = rng.choice(templates)
        use = topic or rng.choice(("general", "general", "billing", "technical", "account", "sales"))
        clause = rng.choice(ctx[use]) if ctx is not None and "{ctx}" in t else ""
        if "{ctx}" not in t and not topic:
            use = "general"
        text = " ".join(expand(t.replace("{ctx}", clause), rng).split())
        if text not in seen:
            seen.add(text)
            yield text, use


def _style(text: str, rng: random.Random) -> str:
    """Vary the register: capitals, punctuation, no punctuation."""
    r = rng.random()
    if r < 0.35:
        return text[:1].upper() + text[1:]
    if r < 0.45:
        return text.upper()
    if r < 0.6:
        return text + rng.choice(("!", "!!", ".", " ??", " pls"))
    return text


def rows(seed: int = 14) -> Iterator[dict[str, object]]:
    """Every generated training row: ``{"text", "lang", "intents", "topic", "source"}``."""
    rng = random.Random(seed)
    for lang, intents, topic, n, templates in FAMILIES:
        for text, use in _variants(templates, n, rng, CTX[lang], topic):
            yield {"text": _style(text, rng), "lang": lang, "intents": list(intents), "topic": use, "source": "own"}
    for lang, templates in SHORT.items():
        for text, _ in _variants(templates, 90 if lang == "en" else 50, rng, None, "general"):
            yield {"text": _style(text, rng), "lang": lang, "intents": [], "topic": "general", "source": "own"}
    for lang, templates in NEGATED.items():
        for text, _ in _variants(templates, 80 if lang == "en" else 50, rng, None, "general"):
            yield {"text": _style(text, rng), "lang": lang, "intents": [], "topic": "general", "source": "own"}
    for lang, by_topic in CTX.items():  # a topic on its own ("about my invoice") asks for nothing
        for topic, clauses in by_topic.items():
            for clause in clauses:
                if clause and topic != "general":
                    yield {"text": clause, "lang": lang, "intents": [], "topic": topic, "source": "own"}
    for table, intents in ((INFO, ["info"]), (NONE, [])):
        for lang, by_topic in table.items():
            for topic, templates in by_topic.items():
                n = 4 * len(templates)
                for text, _ in _variants(templates, n, rng, None, topic):
                    yield {"text": _style(text, rng), "lang": lang, "intents": intents, "topic": topic, "source": "own"}
