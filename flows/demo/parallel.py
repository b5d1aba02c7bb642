"""Demo inputs for the parallel stage: a small parallel corpus written for this project.

48 sentences (English, German, French, Russian translations) are expanded deterministically by
pairing each with others (two-sentence pairs), so language ID still sees real text: >= 300 pairs for
each of deu-eng (Moses files), fra-eng (TSV) and rus-eng (TMX), plus bad pairs of every reject kind
(empty side, identical sides, too long, length ratio, wrong language, duplicates, malformed TSV
lines, non-UTF-8 lines, TMX units without the pair, a damaged TMX file)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from xml.sax.saxutils import escape

# (eng, deu, fra, rus)
SENTENCES: list[tuple[str, str, str, str]] = [
    ('The old house stands at the end of the street.', 'Das alte Haus steht am Ende der Straße.', 'La vieille maison se trouve au bout de la rue.', 'Старый дом стоит в конце улицы.'),
    ('My sister works in a large hospital in the city.', 'Meine Schwester arbeitet in einem großen Krankenhaus in der Stadt.', 'Ma sœur travaille dans un grand hôpital en ville.', 'Моя сестра работает в большой больнице в городе.'),
    ('We are going to the mountains next week.', 'Wir fahren nächste Woche in die Berge.', 'Nous allons à la montagne la semaine prochaine.', 'На следующей неделе мы едем в горы.'),
    ('The children are playing in the garden behind the school.', 'Die Kinder spielen im Garten hinter der Schule.', "Les enfants jouent dans le jardin derrière l'école.", 'Дети играют в саду за школой.'),
    ('He reads the newspaper every morning with a cup of coffee.', 'Er liest jeden Morgen die Zeitung bei einer Tasse Kaffee.', 'Il lit le journal chaque matin avec une tasse de café.', 'Каждое утро он читает газету с чашкой кофе.'),
    ("The train to the capital leaves at eight o'clock.", 'Der Zug in die Hauptstadt fährt um acht Uhr ab.', 'Le train pour la capitale part à huit heures.', 'Поезд в столицу отправляется в восемь часов.'),
    ('It has been raining all day and the streets are wet.', 'Es hat den ganzen Tag geregnet und die Straßen sind nass.', 'Il a plu toute la journée et les rues sont mouillées.', 'Весь день шёл дождь, и улицы мокрые.'),
    ('The museum is closed on Mondays.', 'Das Museum ist montags geschlossen.', 'Le musée est fermé le lundi.', 'Музей закрыт по понедельникам.'),
    ('Our teacher explained the problem very clearly.', 'Unser Lehrer hat das Problem sehr klar erklärt.', 'Notre professeur a expliqué le problème très clairement.', 'Наш учитель очень ясно объяснил задачу.'),
    ('The government announced new measures against poverty.', 'Die Regierung kündigte neue Maßnahmen gegen die Armut an.', 'Le gouvernement a annoncé de nouvelles mesures contre la pauvreté.', 'Правительство объявило о новых мерах против бедности.'),
    ('I would like to buy a ticket for the concert.', 'Ich möchte eine Karte für das Konzert kaufen.', 'Je voudrais acheter un billet pour le concert.', 'Я хотел бы купить билет на концерт.'),
    ('The river flows slowly through the green valley.', 'Der Fluss fließt langsam durch das grüne Tal.', 'La rivière coule lentement à travers la vallée verte.', 'Река медленно течёт через зелёную долину.'),
    ('She forgot her umbrella at the station.', 'Sie hat ihren Regenschirm am Bahnhof vergessen.', 'Elle a oublié son parapluie à la gare.', 'Она забыла свой зонт на вокзале.'),
    ('The doctor says that my father needs more rest.', 'Der Arzt sagt, dass mein Vater mehr Ruhe braucht.', 'Le médecin dit que mon père a besoin de plus de repos.', 'Врач говорит, что моему отцу нужно больше отдыхать.'),
    ('Many tourists visit the castle in the summer.', 'Viele Touristen besuchen im Sommer das Schloss.', 'Beaucoup de touristes visitent le château en été.', 'Летом многие туристы посещают замок.'),
    ('The library has thousands of books in many languages.', 'Die Bibliothek hat Tausende von Büchern in vielen Sprachen.', 'La bibliothèque possède des milliers de livres en plusieurs langues.', 'В библиотеке тысячи книг на многих языках.'),
    ('We ate fresh bread and cheese at the market.', 'Wir haben auf dem Markt frisches Brot und Käse gegessen.', 'Nous avons mangé du pain frais et du fromage au marché.', 'Мы ели свежий хлеб и сыр на рынке.'),
    ('The meeting was postponed until next Thursday.', 'Die Sitzung wurde auf nächsten Donnerstag verschoben.', 'La réunion a été reportée à jeudi prochain.', 'Встреча была перенесена на следующий четверг.'),
    ('Please close the window because it is cold.', 'Bitte schließ das Fenster, weil es kalt ist.', "Ferme la fenêtre, s'il te plaît, parce qu'il fait froid.", 'Пожалуйста, закрой окно, потому что холодно.'),
    ('The company opened a new factory in the north of the country.', 'Das Unternehmen hat im Norden des Landes eine neue Fabrik eröffnet.', "L'entreprise a ouvert une nouvelle usine dans le nord du pays.", 'Компания открыла новый завод на севере страны.'),
    ('My grandmother tells wonderful stories about her childhood.', 'Meine Großmutter erzählt wunderbare Geschichten aus ihrer Kindheit.', 'Ma grand-mère raconte de merveilleuses histoires sur son enfance.', 'Моя бабушка рассказывает чудесные истории о своём детстве.'),
    ('The students must finish their work before Friday.', 'Die Studenten müssen ihre Arbeit vor Freitag beenden.', 'Les étudiants doivent terminer leur travail avant vendredi.', 'Студенты должны закончить свою работу до пятницы.'),
    ('The cat is sleeping on the warm sofa.', 'Die Katze schläft auf dem warmen Sofa.', 'Le chat dort sur le canapé chaud.', 'Кошка спит на тёплом диване.'),
    ('Scientists discovered a new species of bird in the forest.', 'Wissenschaftler haben im Wald eine neue Vogelart entdeckt.', "Des scientifiques ont découvert une nouvelle espèce d'oiseau dans la forêt.", 'Учёные обнаружили в лесу новый вид птиц.'),
    ('The bridge was built more than two hundred years ago.', 'Die Brücke wurde vor mehr als zweihundert Jahren gebaut.', 'Le pont a été construit il y a plus de deux cents ans.', 'Мост был построен более двухсот лет назад.'),
    ('I cannot find my keys anywhere.', 'Ich kann meine Schlüssel nirgends finden.', 'Je ne trouve mes clés nulle part.', 'Я нигде не могу найти свои ключи.'),
    ('The price of vegetables has risen sharply this year.', 'Der Preis für Gemüse ist in diesem Jahr stark gestiegen.', 'Le prix des légumes a fortement augmenté cette année.', 'Цены на овощи в этом году резко выросли.'),
    ('Our neighbours have a big dog and two small cats.', 'Unsere Nachbarn haben einen großen Hund und zwei kleine Katzen.', 'Nos voisins ont un grand chien et deux petits chats.', 'У наших соседей большая собака и две маленькие кошки.'),
    ('The film tells the story of a young sailor.', 'Der Film erzählt die Geschichte eines jungen Seemanns.', "Le film raconte l'histoire d'un jeune marin.", 'Фильм рассказывает историю молодого моряка.'),
    ('Water boils at one hundred degrees.', 'Wasser kocht bei hundert Grad.', "L'eau bout à cent degrés.", 'Вода кипит при ста градусах.'),
    ('The parliament will vote on the new law tomorrow.', 'Das Parlament wird morgen über das neue Gesetz abstimmen.', 'Le parlement votera demain sur la nouvelle loi.', 'Парламент завтра проголосует за новый закон.'),
    ('He learned to play the piano when he was a child.', 'Er hat als Kind gelernt, Klavier zu spielen.', 'Il a appris à jouer du piano quand il était enfant.', 'Он научился играть на пианино, когда был ребёнком.'),
    ('The shop on the corner sells fruit and flowers.', 'Der Laden an der Ecke verkauft Obst und Blumen.', 'Le magasin du coin vend des fruits et des fleurs.', 'Магазин на углу продаёт фрукты и цветы.'),
    ('Winter in this region is long and very cold.', 'Der Winter in dieser Region ist lang und sehr kalt.', "L'hiver dans cette région est long et très froid.", 'Зима в этом регионе долгая и очень холодная.'),
    ('The workers repaired the road in two days.', 'Die Arbeiter haben die Straße in zwei Tagen repariert.', 'Les ouvriers ont réparé la route en deux jours.', 'Рабочие отремонтировали дорогу за два дня.'),
    ('My brother wants to study medicine at the university.', 'Mein Bruder will an der Universität Medizin studieren.', "Mon frère veut étudier la médecine à l'université.", 'Мой брат хочет изучать медицину в университете.'),
    ('The village has a small church and an old bakery.', 'Das Dorf hat eine kleine Kirche und eine alte Bäckerei.', 'Le village a une petite église et une vieille boulangerie.', 'В деревне есть маленькая церковь и старая пекарня.'),
    ('The plane landed safely despite the strong wind.', 'Das Flugzeug ist trotz des starken Windes sicher gelandet.', "L'avion a atterri en toute sécurité malgré le vent fort.", 'Самолёт благополучно приземлился, несмотря на сильный ветер.'),
    ('She writes letters to her friends in other countries.', 'Sie schreibt Briefe an ihre Freunde in anderen Ländern.', "Elle écrit des lettres à ses amis dans d'autres pays.", 'Она пишет письма своим друзьям в других странах.'),
    ('The lake freezes completely in January.', 'Der See friert im Januar vollständig zu.', 'Le lac gèle complètement en janvier.', 'Озеро полностью замерзает в январе.'),
    ('The police are looking for witnesses to the accident.', 'Die Polizei sucht Zeugen des Unfalls.', "La police cherche des témoins de l'accident.", 'Полиция ищет свидетелей аварии.'),
    ('We need more time to answer all the questions.', 'Wir brauchen mehr Zeit, um alle Fragen zu beantworten.', 'Nous avons besoin de plus de temps pour répondre à toutes les questions.', 'Нам нужно больше времени, чтобы ответить на все вопросы.'),
    ('The garden is full of roses in June.', 'Im Juni ist der Garten voller Rosen.', 'En juin, le jardin est plein de roses.', 'В июне сад полон роз.'),
    ('The bank lends money to small businesses.', 'Die Bank leiht kleinen Unternehmen Geld.', "La banque prête de l'argent aux petites entreprises.", 'Банк даёт деньги в долг малым предприятиям.'),
    ('Her new book will appear in the spring.', 'Ihr neues Buch erscheint im Frühling.', 'Son nouveau livre paraîtra au printemps.', 'Её новая книга выйдет весной.'),
    ('The soldiers returned home after the long war.', 'Die Soldaten kehrten nach dem langen Krieg nach Hause zurück.', 'Les soldats sont rentrés chez eux après la longue guerre.', 'Солдаты вернулись домой после долгой войны.'),
    ('The kitchen smells of fresh apple cake.', 'Die Küche riecht nach frischem Apfelkuchen.', 'La cuisine sent le gâteau aux pommes frais.', 'На кухне пахнет свежим яблочным пирогом.'),
    ('Every child should learn to swim.', 'Jedes Kind sollte schwimmen lernen.', 'Chaque enfant devrait apprendre à nager.', 'Каждый ребёнок должен научиться плавать.'),
]

LANGS = {"eng": 0, "deu": 1, "fra": 2, "rus": 3}
N_COMBINED = 320  # two-sentence pairs per language pair, on top of the 48 single sentences


def clean_pairs(src: str, tgt: str = "eng", n_combined: int = N_COMBINED) -> list[tuple[str, str]]:
    """Single-sentence pairs, then two-sentence pairs in a fixed pseudo-random order."""
    a, b = LANGS[src], LANGS[tgt]
    out = [(row[a], row[b]) for row in SENTENCES]
    n = len(SENTENCES)
    combos = sorted(((i, j) for i in range(n) for j in range(n) if i != j),
                    key=lambda ij: hashlib.sha1(f"{src}-{tgt}:{ij[0]}:{ij[1]}".encode()).hexdigest())
    for i, j in combos[:n_combined]:
        out.append((f"{SENTENCES[i][a]} {SENTENCES[j][a]}", f"{SENTENCES[i][b]} {SENTENCES[j][b]}"))
    return out


def bad_pairs(src: str, tgt: str = "eng") -> list[tuple[str, str]]:
    """One or more pairs for each content reject reason (format-specific ones are added per writer)."""
    a, b = LANGS[src], LANGS[tgt]
    long_src = " ".join(row[a] for row in SENTENCES[:25])
    long_tgt = " ".join(row[b] for row in SENTENCES[:25])
    return [
        (SENTENCES[0][a], ""),  # empty_side
        ("   ", SENTENCES[1][b]),  # empty_side (whitespace)
        ("Angela Merkel", "Angela Merkel"),  # identical
        (long_src, long_tgt),  # too_long
        (SENTENCES[2][a].split()[0] + ".", SENTENCES[20][b] + " " + SENTENCES[21][b]),  # length_ratio
        (SENTENCES[3][b], SENTENCES[4][b]),  # lid_mismatch: target-language text on the source side
        (SENTENCES[5][a], SENTENCES[6][a]),  # lid_mismatch: source-language text on the target side
        (SENTENCES[7][a], SENTENCES[7][b]),  # duplicate of a clean pair
        (f"  {SENTENCES[8][a]}  ", SENTENCES[8][b].replace(" ", "  ")),  # duplicate up to whitespace
        (SENTENCES[9][a].rstrip(".") + " !", SENTENCES[9][b].rstrip(".") + " !"),  # duplicate up to punctuation
    ]


def _interleave(good: list, bad: list) -> list:
    step = max(1, len(good) // (len(bad) + 1))
    out = list(good)
    for k, item in enumerate(bad):
        out.insert((k + 1) * step + k, item)
    return out


def write_moses(folder: Path, n_combined: int = N_COMBINED) -> tuple[Path, Path]:
    pairs = _interleave(clean_pairs("deu", n_combined=n_combined), bad_pairs("deu"))
    src, tgt = folder / "demo-news.de", folder / "demo-news.en"
    src_lines = [s.encode() for s, _ in pairs]
    tgt_lines = [t.encode() for _, t in pairs]
    src_lines.insert(100, "Grüße aus Köln.".encode("latin-1"))  # bad_encoding: not UTF-8
    tgt_lines.insert(100, b"Greetings from Cologne.")
    src.write_bytes(b"\n".join(src_lines) + b"\n")
    tgt.write_bytes(b"\n".join(tgt_lines) + b"\n")
    return src, tgt


def write_tsv(folder: Path, n_combined: int = N_COMBINED) -> Path:
    lines = [f"{s}\t{t}" for s, t in _interleave(clean_pairs("fra", n_combined=n_combined), bad_pairs("fra"))]
    lines.insert(50, "Une ligne sans tabulation et donc sans traduction.")  # malformed_line
    lines.insert(150, "Trois\tchamps\tici.")  # malformed_line
    path = folder / "fra-eng.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _tu(segs: list[tuple[str, str]]) -> str:
    tuvs = "".join(f'<tuv xml:lang="{lang}"><seg>{escape(text)}</seg></tuv>' for lang, text in segs)
    return f"<tu>{tuvs}</tu>"


def write_tmx(folder: Path, n_combined: int = N_COMBINED) -> tuple[Path, Path]:
    units = [_tu([("ru-RU", s), ("en-GB", t)]) for s, t in _interleave(clean_pairs("rus", n_combined=n_combined), bad_pairs("rus"))]
    units.insert(60, _tu([("ru-RU", SENTENCES[10][3])]))  # missing_language: no English
    units.insert(120, _tu([("de-DE", SENTENCES[11][1]), ("en-GB", SENTENCES[11][0])]))  # another pair
    # inline formatting codes are not text: "<bpt>" content must not leak into the pair
    units.insert(180, '<tu><tuv xml:lang="ru"><seg>Кошка <bpt i="1">&lt;b&gt;</bpt>спит<ept i="1">&lt;/b&gt;</ept>'
                      ' на диване.</seg></tuv><tuv xml:lang="en"><seg>The cat <bpt i="1">&lt;b&gt;</bpt>sleeps'
                      '<ept i="1">&lt;/b&gt;</ept> on the sofa.</seg></tuv></tu>')
    head = ('<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4"><header creationtool="xlcorpus-demo" '
            'creationtoolversion="1" segtype="sentence" o-tmf="none" adminlang="en" srclang="ru" datatype="plaintext"/>'
            "<body>\n")
    path = folder / "rus-eng.tmx"
    path.write_text(head + "\n".join(units) + "\n</body></tmx>\n", encoding="utf-8")
    # a damaged file: cut off in the middle of a unit (one malformed_xml reject, the units before it kept)
    damaged = folder / "damaged.ru-en.tmx"
    damaged.write_text(head + "\n".join(units[5:8]) + '\n<tu><tuv xml:lang="ru"><seg>Обрыв', encoding="utf-8")
    return path, damaged


def make_section(data_dir: Path, n_combined: int = N_COMBINED) -> dict:
    """Write the corpus under data_dir/parallel and return the `parallel` config section (tests pass a
    smaller n_combined for a faster run)."""
    folder = Path(data_dir) / "parallel"
    folder.mkdir(parents=True, exist_ok=True)
    src, tgt = write_moses(folder, n_combined)
    tsv = write_tsv(folder, n_combined)
    tmx, damaged = write_tmx(folder, n_combined)
    rel = lambda p: str(p.relative_to(data_dir))  # noqa: E731 — config paths are relative to demo.yaml
    return {
        "parallel": {
            "inputs": [
                {"format": "moses", "src_path": rel(src), "tgt_path": rel(tgt), "src_lang": "de", "tgt_lang": "en",
                 "corpus": "demo-news"},
                {"format": "tsv", "input_path": rel(tsv), "src_lang": "fra", "tgt_lang": "eng"},
                {"format": "tmx", "input_path": rel(tmx), "src_lang": "rus", "tgt_lang": "eng"},
                rel(damaged),  # format and language pair from the file name
            ],
            # chunks of 150 pairs: every language pair has several, so the demo runs the two-pass path
            # (pass 1 builds OUT/align_priors from the pair's sample, pass 2 aligns each chunk with them)
            "align": {"aligner": "eflomal", "chunk_size": 150},
            "lexicon": {"min_count": 2},
            "alm": {"samples": 2, "max_switch_ratio": 0.3},
            "dictionary": {"p": 0.3, "choose": "top"},
        }
    }
