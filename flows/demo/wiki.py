"""Demo inputs for the wiki stage: a small English Wikipedia export and a Wikidata dump, written
for this project (not copied from Wikipedia).

- wiki/enwiki-demo-pages-articles-multistream.xml.bz2 (+ its -index.txt.bz2): a valid MediaWiki
  export (siteinfo, namespaces) whose pages are packed 4 per bz2 stream, as Wikimedia packs 100,
  so the stage reads it in parallel. 36 articles, redirects (one with a #fragment), a template, a
  category and a file page (other namespaces), infoboxes, tables, <ref>s, [[File:]] captions,
  categories and interlanguage links.
- wiki/wikidata-demo.json.bz2: one entity per line inside a JSON array, labels in up to 10 languages
  (some entities miss some languages), one item without an enwiki sitelink and one malformed line.
"""

from __future__ import annotations

import bz2
import json
from pathlib import Path
from xml.sax.saxutils import escape

# (title, wikitext). Redirect pages are "#REDIRECT [[Target]]".
ARTICLES: list[tuple[str, str]] = [
    ("Paris", """{{Infobox settlement
| name = Paris
| country = [[France]]
| population = 2,102,650
}}
'''Paris''' ({{IPA|fr|paʁi}}) is the capital and largest city of [[France]].<ref>{{cite web|title=Population|publisher=INSEE}}</ref> The city stands on the [[Seine]], in the north of the country, and its centre includes the [[Île de la Cité]].

== History ==
The Roman town of [[Lutetia]] grew on the [[Île de la Cité]] before it became the seat of the Frankish kings. During the 19th century the city was rebuilt with wide boulevards, and the [[Eiffel tower|Eiffel Tower]] was finished for the world's fair of 1889.

== Culture ==
[[File:Louvre Museum Wikimedia Commons.jpg|thumb|right|The glass pyramid of the [[Louvre]] in the evening]]
The [[Louvre]] is the most visited art museum in the world, and [[Notre-Dame de Paris]] is a masterpiece of French Gothic architecture. Paris is also linked to [[Marie Curie]], who did most of her research in the city.
{| class="wikitable"
|-
! Year !! Population
|-
| 1900 || 2,714,068
|-
| 2020 || 2,145,906
|}

[[Category:Capitals in Europe]]
[[de:Paris]]
[[fr:Paris]]"""),
    ("France", """{{Short description|Country in Western Europe}}
'''France''', officially the [[French Republic]], is a country in [[Europe|Western Europe]]. Its capital is [[Paris]], and its territory reaches from the [[Rhine]] to the [[Atlantic Ocean]].<ref name="geo">{{cite book|title=Atlas}}</ref>
France borders [[Belgium]], [[Germany]], [[Switzerland]], [[Italy]] and [[Spain]]. It was a founding member of the [[EU|European Union]].
The longest river entirely in France is the Loire, while the [[Seine]] flows through the capital.
[[Category:Countries in Europe]]
[[es:Francia]]"""),
    ("Germany", """{{Infobox country|conventional_long_name=Federal Republic of Germany|capital=[[Berlin]]}}
'''Germany''' is a country in [[Europe|Central Europe]] with more than 80 million inhabitants. Its capital and largest city is [[Berlin]].
The [[Rhine]] and the [[Danube]] are its most important rivers, and the [[Alps]] rise along its southern border with [[Austria]].
Germany was a founding member of the [[European Union]] and borders [[France]], [[Poland]] and the [[Netherlands]].
[[Category:Countries in Europe]]"""),
    ("Berlin", """'''Berlin''' is the capital of [[Germany]] and its most populous city.<ref>Statistical office, 2021.</ref> The [[Spree (river)|Spree]] flows through the city centre, past the park of the Tiergarten.
After the Second World War the city was divided, and the wall that separated East and West Berlin stood until 1989.
Berlin lies about {{convert|180|km|mi}} south of the [[North Sea]] coast and much closer to [[Poland]].
[[Category:Capitals in Europe]]"""),
    ("Europe", """'''Europe''' is a continent located entirely in the Northern Hemisphere.
It is bordered by the [[Atlantic Ocean]] to the west and the [[Mediterranean Sea]] to the south, while the [[Ural Mountains]] are often taken as its eastern limit.
The largest country of Europe by area is [[Russia]], and its most visited city is [[Paris]].
* Northern Europe
* Southern Europe
[[Category:Continents]]"""),
    ("Seine", """{{Infobox river|name=Seine|mouth=[[English Channel]]}}
The '''Seine''' is a river in northern [[France]], about 777 km long. It flows through [[Paris]] and reaches the [[English Channel]] at [[Le Havre]].
Many of the bridges of the [[Paris|French capital]] cross the Seine, among them the Pont Neuf.
[[Category:Rivers of France]]"""),
    ("Eiffel Tower", """[[File:Tour Eiffel.jpg|thumb|upright|The tower seen from the [[Champ de Mars]]]]
The '''Eiffel Tower''' is a wrought-iron lattice tower in [[Paris]], [[France]]. It was designed by the company of Gustave Eiffel and completed in 1889.
At 330 metres, it was the tallest man-made structure in the world for 41 years. The tower is among the most visited monuments of [[Europe]].
[[Category:Towers in France]]"""),
    ("Louvre", """The '''Louvre''' is a national art museum in [[Paris]], [[France]], on the right bank of the [[Seine]].
Originally a royal palace, it opened as a museum in 1793. It holds the ''Mona Lisa'' and the ''[[Venus de Milo]]''.
[[Category:Museums in Paris]]"""),
    ("Rhine", """The '''Rhine''' is a major river of [[Europe]] that rises in the [[Alps]] of [[Switzerland]].
It forms part of the border between [[Germany]] and [[France]] before it flows through the [[Netherlands]] into the [[North Sea]].<ref>{{cite journal|title=Rhine basin}}</ref>
[[Category:Rivers of Europe]]"""),
    ("Danube", """The '''Danube''' is the second-longest river in [[Europe]] after the [[Volga]]. It rises in the Black Forest of [[Germany]] and flows through [[Vienna]] on its way to the [[Black Sea]].
Four capital cities lie on the Danube, more than on any other river in the world.
On its way from the Black Forest to the [[Black Sea]] the river passes the town of Tuttlingen, the town of Sigmaringen, the town of Riedlingen, the town of Ehingen, the town of Ulm, the town of Neu-Ulm, the town of Günzburg, the town of Lauingen, the town of Dillingen, the town of Höchstädt, the town of Donauwörth, the town of Neuburg, the town of Ingolstadt, the town of Kelheim, the town of Regensburg, the town of Straubing, the town of Deggendorf, the town of Vilshofen, the town of Passau, the town of Linz, the town of Enns, the town of Mauthausen, the town of Grein, the town of Ybbs, the town of Melk, the town of Krems, the town of Tulln, the town of Klosterneuburg, the town of Hainburg, the town of Bratislava, the town of Komárno, the town of Esztergom, the town of Vác, the town of Szentendre, the town of Dunaújváros, the town of Paks, the town of Baja, the town of Mohács, the town of Vukovar, the town of Novi, the town of Sad, the town of Smederevo, the town of Vidin, the town of Lom, the town of Ruse before it reaches its delta.
[[Category:Rivers of Europe]]"""),
    ("Alps", """The '''Alps''' are the highest and most extensive mountain range lying entirely in [[Europe]].
They stretch across [[France]], [[Switzerland]], [[Italy]], [[Germany]] and [[Austria]], among other countries. The highest peak is [[Mont Blanc]], at 4,806 m.
[[Category:Mountain ranges of Europe]]"""),
    ("Switzerland", """'''Switzerland''' is a landlocked country in [[Europe]] where the [[Alps]], the Swiss Plateau and the Jura meet.
It borders [[Germany]], [[France]], [[Italy]] and [[Austria]]. The [[Rhine]] rises in the Swiss Alps.
Switzerland is not a member of the [[European Union]].
[[Category:Countries in Europe]]"""),
    ("Italy", """{{Infobox country|capital=[[Rome]]}}
'''Italy''' is a country in [[Europe|Southern Europe]] on a peninsula that extends into the [[Mediterranean Sea]]. Its capital is [[Rome]].
The northern border of Italy follows the [[Alps]], and the country shares land borders with [[France]], [[Switzerland]] and [[Austria]].
[[Category:Countries in Europe]]"""),
    ("Rome", """'''Rome''' is the capital city of [[Italy]]. It was the centre of the Roman Empire for centuries.
The historic centre of Rome lies on the banks of the Tiber, close to the [[Mediterranean Sea]].
[[Category:Capitals in Europe]]"""),
    ("Spain", """'''Spain''' is a country on the Iberian Peninsula in southwestern [[Europe]].<ref>CIA World Factbook.</ref> Its capital is [[Madrid]].
Spain borders [[France]] to the northeast and has coasts on the [[Atlantic Ocean]] and the [[Mediterranean Sea]].
{| class="wikitable"
| Area || 505,990 km2
|}
| style="text-align:left" | [[Madrid]] is listed first among the cities of the kingdom
[[Category:Countries in Europe]]"""),
    ("Madrid", """'''Madrid''' is the capital and most populous city of [[Spain]]. The city lies on the Manzanares river in the centre of the Iberian Peninsula.
The Prado Museum in Madrid holds one of the finest collections of European art.
[[Category:Capitals in Europe]]"""),
    ("Atlantic Ocean", """The '''Atlantic Ocean''' is the second-largest of the world's oceans, after the [[Pacific Ocean]].
It separates [[Europe]] and [[Africa]] from the Americas. The [[North Sea]] and the [[Mediterranean Sea]] are connected to it.
[[Category:Oceans]]"""),
    ("Mediterranean Sea", """The '''Mediterranean Sea''' is a sea connected to the [[Atlantic Ocean]], surrounded by [[Europe]], [[Africa]] and Western Asia.
Ancient civilizations such as [[Egypt|Ancient Egypt]] and [[Rome]] grew around its shores.
[[Category:Seas]]"""),
    ("European Union", """The '''European Union''' ('''EU''') is a political and economic union of 27 member states located in [[Europe]].
Its main institutions are in [[Brussels]], and its founding members included [[France]], [[Germany]], [[Italy]] and [[Belgium]].
Members today include [[France]], [[Germany]], [[Italy]], [[Spain]], [[Belgium]], [[Netherlands|the Netherlands]], [[Austria]], [[Poland]], [[Luxembourg]], [[Portugal]] and [[Greece]].
[[Category:European Union]]"""),
    ("Brussels", """'''Brussels''' is the capital of [[Belgium]] and hosts the main institutions of the [[European Union]].<ref>{{cite web|url=http://example.org|title=EU}}</ref>
The Grand Place in the centre of Brussels is listed as a World Heritage Site.
[[Category:Capitals in Europe]]"""),
    ("Belgium", """'''Belgium''' is a country in northwestern [[Europe]] whose capital is [[Brussels]].
It borders the [[Netherlands]], [[Germany]], [[Luxembourg]] and [[France]], and has a short coast on the [[North Sea]].
[[Category:Countries in Europe]]"""),
    ("Vienna", """'''Vienna''' is the capital of [[Austria]] and lies on the [[Danube]].
Vienna was long the home of composers such as Mozart and Beethoven, and its coffee houses are famous.
[[Category:Capitals in Europe]]"""),
    ("Austria", """'''Austria''' is a landlocked country in [[Europe|Central Europe]] whose capital is [[Vienna]].
Much of Austria lies in the [[Alps]], and the [[Danube]] crosses the north of the country. It borders [[Germany]], [[Switzerland]] and [[Italy]].
[[Category:Countries in Europe]]"""),
    ("Coral reef", """A '''coral reef''' is an underwater ecosystem built by colonies of coral polyps held together by calcium carbonate.
The largest coral reef system is the [[Great Barrier Reef]] off the coast of [[Australia]]. Coral reefs grow best in warm, clear and shallow water.
[[Category:Coral reefs]]"""),
    ("Great Barrier Reef", """The '''Great Barrier Reef''' is the world's largest [[coral reef]] system, in the Coral Sea off [[Australia]].
It can be seen from outer space and lies in the [[Pacific Ocean]]. Warmer water has caused mass coral bleaching since 1998.
[[Category:Coral reefs]]"""),
    ("Australia", """'''Australia''' is a country made up of the mainland of the Australian continent and many smaller islands. It lies between the [[Pacific Ocean]] and the Indian Ocean.
Its east coast faces the [[Great Barrier Reef]], the largest system of [[coral reef]]s on Earth.
[[Category:Countries in Oceania]]"""),
    ("Pacific Ocean", """The '''Pacific Ocean''' is the largest and deepest of Earth's oceans.
It extends from the Arctic in the north to the Southern Ocean, and it washes the coasts of [[Japan]] and [[Australia]].
[[Category:Oceans]]"""),
    ("Albert Einstein", """{{Infobox scientist|name=Albert Einstein|field=[[Physics]]}}
'''Albert Einstein''' (14 March 1879 – 18 April 1955) was a German-born theoretical physicist who developed the theory of relativity.
He received the [[Nobel Prize]] in [[Physics]] in 1921 for his explanation of the photoelectric effect. Einstein was born in Ulm, in the Kingdom of Württemberg in [[Germany]], and later lived in [[Berlin]] and [[Switzerland]].
He moved to the U.S. in 1933 and worked at the Institute for Advanced Study in Princeton.
[[Category:Physicists]]"""),
    ("Marie Curie", """'''Marie Curie''' (born Maria Skłodowska; 1867–1934) was a [[Poland|Polish]] and naturalised-French physicist and chemist.
She was born in [[Warsaw]] and did her research in [[Paris]]. Curie was the first woman to win a [[Nobel Prize]], and the only person to win Nobel Prizes in both [[Physics]] and [[Chemistry]].
[[Category:Chemists]]"""),
    ("Poland", """'''Poland''' is a country in [[Europe|Central Europe]] whose capital and largest city is [[Warsaw]].
It borders [[Germany]] to the west and has a coast on the Baltic Sea.
[[Category:Countries in Europe]]"""),
    ("Warsaw", """'''Warsaw''' is the capital and largest city of [[Poland]], on the Vistula river.
The old town of Warsaw was rebuilt after the Second World War and is now a World Heritage Site.
[[Category:Capitals in Europe]]"""),
    ("Nobel Prize", """The '''Nobel Prizes''' are five separate prizes awarded for achievements in [[Physics]], [[Chemistry]], medicine, literature and peace.
They were first awarded in 1901. Notable laureates include [[Albert Einstein|Einstein]] and [[Marie Curie]].
[[Category:Awards]]"""),
    ("Tokyo", """'''Tokyo''' is the capital of [[Japan]] and the most populous metropolitan area in the world.
The city lies on Tokyo Bay, and on clear days [[Mount Fuji]] can be seen from it. Tokyo hosted the Summer Olympics in 1964 and 2021.
[[Category:Capitals in Asia]]"""),
    ("Japan", """'''Japan''' is an island country in East Asia, in the northwest of the [[Pacific Ocean]]. Its capital and largest city is [[Tokyo]].
The highest mountain of Japan is [[Mount Fuji]], an active volcano on the island of Honshu.
[[Category:Countries in Asia]]
[[ja:日本]]"""),
    ("Mount Fuji", """'''Mount Fuji''' is an active stratovolcano on the island of Honshu in [[Japan]], about 100 km southwest of [[Tokyo]].
With a height of 3,776 m, it is the highest mountain in the country. Its last eruption ended in 1708.
[[Category:Volcanoes of Japan]]"""),
    ("Moscow", """'''Moscow''' is the capital and largest city of [[Russia]], standing on the Moskva River.
The Kremlin and Red Square in the centre of Moscow are among the best known sights of [[Europe]].
[[Category:Capitals in Europe]]"""),
    ("Russia", """'''Russia''' is the largest country in the world by area, spanning Eastern [[Europe]] and Northern Asia. Its capital is [[Moscow]].
The [[Volga]], the longest river of Europe, flows entirely within Russia into the Caspian Sea.
Russia borders the [[Black Sea]], [[Poland]] and [[Japan]], among many others.
[[Category:Countries in Europe]]"""),
    ("Nile", """The '''Nile''' is a major river in northeastern [[Africa]] that flows into the [[Mediterranean Sea]].
It was the lifeline of [[Egypt|ancient Egyptian]] civilization, and [[Cairo]] lies on its banks.
[[Category:Rivers of Africa]]"""),
    ("Egypt", """'''Egypt''' is a country in the northeast corner of [[Africa]] whose capital is [[Cairo]].
The [[Nile]] flows through Egypt to the [[Mediterranean Sea]]. See also [[Nile]].
The [[Mediterranean Sea|Mediterranean]] coast.
[[Category:Countries in Africa]]"""),
    ("Cairo", """'''Cairo''' is the capital of [[Egypt]] and the largest city in the Arab world.
It lies on the [[Nile]], near the pyramids of Giza, which are among the oldest monuments of [[Africa]].
[[Category:Capitals in Africa]]"""),
    ("Volga", """The '''Volga''' is the longest river in [[Europe]], flowing through central [[Russia]] to the Caspian Sea.
Major cities on the Volga include Nizhny Novgorod and Volgograd, and [[Saint Petersburg|St. Petersburg]] is linked to it by canals.
[[Category:Rivers of Russia]]"""),
    ("Notre-Dame de Paris", """'''Notre-Dame de Paris''' is a medieval Catholic cathedral on the [[Île de la Cité]] in [[Paris]].
Its roof and spire were destroyed by a fire in April 2019, and the cathedral reopened in December 2024.
[[Category:Churches in Paris]]"""),
    ("Netherlands", """The '''Netherlands''' is a country in northwestern [[Europe]] on the coast of the [[North Sea]].
The [[Rhine]] enters the sea through the Netherlands, which borders [[Germany]] and [[Belgium]].
[[Category:Countries in Europe]]"""),
    ("North Sea", """The '''North Sea''' lies between Great Britain, [[Norway]], [[Germany]], the [[Netherlands]], [[Belgium]] and [[France]].
It is an arm of the [[Atlantic Ocean]] and one of the busiest shipping areas in the world.
[[Category:Seas]]"""),
    ("Africa", """'''Africa''' is the second-largest continent, after Asia.
The [[Nile]] in the northeast is its longest river, and [[Egypt]] and [[Cairo]] lie along it.
[[Category:Continents]]"""),
    ("Physics", """'''Physics''' is the natural science of matter, its motion and behaviour through space and time.
Important figures in its history include [[Albert Einstein]] and [[Marie Curie]], both awarded the [[Nobel Prize]].
[[Category:Physics]]"""),
]

REDIRECTS: list[tuple[str, str]] = [
    ("French Republic", "France"),
    ("EU", "European Union"),
    ("Eiffel tower", "Eiffel Tower"),
    ("Einstein", "Albert Einstein"),
    ("Lutetia", "Paris#History"),  # a redirect to a section: the fragment is dropped
    ("Federal Republic of Germany", "Germany"),
    ("Coral reefs", "Coral reef"),
]

OTHER_PAGES: list[tuple[str, int, str]] = [
    ("Template:Infobox river", 10, "{{Infobox\n| title = {{{name}}}\n}}<noinclude>[[Category:River templates]]</noinclude>"),
    ("Category:Capitals in Europe", 14, "Capital cities of countries in [[Europe]]."),
    ("File:Tour Eiffel.jpg", 6, "== Summary ==\nA photograph of the [[Eiffel Tower]]."),
]

# QID, enwiki title (None = no article on enwiki), labels by Wikidata language code
LANGS = ("en", "de", "fr", "es", "it", "pt", "ru", "zh", "ar", "hi", "ja")
ENTITIES: list[tuple[str, str | None, dict[str, str]]] = []


def _e(qid: str, title: str | None, *labels: str, **extra: str) -> None:
    """labels in LANGS order ("" = the entity has no label in that language)."""
    ENTITIES.append((qid, title, {**{k: v for k, v in zip(LANGS, labels, strict=False) if v}, **extra}))


_e("Q90", "Paris", "Paris", "Paris", "Paris", "París", "Parigi", "Paris", "Париж", "巴黎", "باريس", "पेरिस", "パリ")
_e("Q142", "France", "France", "Frankreich", "France", "Francia", "Francia", "França", "Франция", "法国", "فرنسا", "फ़्रान्स", "フランス")
_e("Q183", "Germany", "Germany", "Deutschland", "Allemagne", "Alemania", "Germania", "Alemanha", "Германия", "德国", "ألمانيا", "जर्मनी", "ドイツ")
_e("Q64", "Berlin", "Berlin", "Berlin", "Berlin", "Berlín", "Berlino", "Berlim", "Берлин", "柏林", "برلين", "बर्लिन", "ベルリン")
_e("Q46", "Europe", "Europe", "Europa", "Europe", "Europa", "Europa", "Europa", "Европа", "欧洲", "أوروبا", "यूरोप", "ヨーロッパ")
_e("Q1471", "Seine", "Seine", "Seine", "Seine", "Sena", "Senna", "Sena", "Сена", "塞纳河", "السين", "सीन नदी", "セーヌ川")
_e("Q243", "Eiffel Tower", "Eiffel Tower", "Eiffelturm", "tour Eiffel", "Torre Eiffel", "Torre Eiffel", "Torre Eiffel", "Эйфелева башня", "埃菲尔铁塔", "برج إيفل", "एफ़िल टॉवर", "エッフェル塔")
_e("Q19675", "Louvre", "Louvre", "Louvre", "musée du Louvre", "Museo del Louvre", "Museo del Louvre", "Museu do Louvre", "Лувр", "卢浮宫", "متحف اللوفر", "", "ルーヴル美術館")
_e("Q584", "Rhine", "Rhine", "Rhein", "Rhin", "Rin", "Reno", "Reno", "Рейн", "莱茵河", "نهر الراين", "राइन नदी", "ライン川")
_e("Q1653", "Danube", "Danube", "Donau", "Danube", "Danubio", "Danubio", "Danúbio", "Дунай", "多瑙河", "الدانوب", "डेन्यूब नदी", "ドナウ川")
_e("Q1286", "Alps", "Alps", "Alpen", "Alpes", "Alpes", "Alpi", "Alpes", "Альпы", "阿尔卑斯山脉", "جبال الألب", "आल्प्स", "アルプス山脈")
_e("Q39", "Switzerland", "Switzerland", "Schweiz", "Suisse", "Suiza", "Svizzera", "Suíça", "Швейцария", "瑞士", "سويسرا", "स्विट्ज़रलैण्ड", "スイス")
_e("Q38", "Italy", "Italy", "Italien", "Italie", "Italia", "Italia", "Itália", "Италия", "意大利", "إيطاليا", "इटली", "イタリア")
_e("Q220", "Rome", "Rome", "Rom", "Rome", "Roma", "Roma", "Roma", "Рим", "罗马", "روما", "रोम", "ローマ")
_e("Q29", "Spain", "Spain", "Spanien", "Espagne", "España", "Spagna", "Espanha", "Испания", "西班牙", "إسبانيا", "स्पेन", "スペイン")
_e("Q2807", "Madrid", "Madrid", "Madrid", "Madrid", "Madrid", "Madrid", "Madrid", "Мадрид", "马德里", "مدريد", "मैड्रिड", "マドリード")
_e("Q97", "Atlantic Ocean", "Atlantic Ocean", "Atlantischer Ozean", "océan Atlantique", "océano Atlántico", "oceano Atlantico", "Oceano Atlântico", "Атлантический океан", "大西洋", "المحيط الأطلسي", "अटलांटिक महासागर", "大西洋")
_e("Q4918", "Mediterranean Sea", "Mediterranean Sea", "Mittelmeer", "mer Méditerranée", "mar Mediterráneo", "mar Mediterraneo", "Mar Mediterrâneo", "Средиземное море", "地中海", "البحر الأبيض المتوسط", "भूमध्य सागर", "地中海")
_e("Q458", "European Union", "European Union", "Europäische Union", "Union européenne", "Unión Europea", "Unione europea", "União Europeia", "Европейский союз", "欧洲联盟", "الاتحاد الأوروبي", "यूरोपीय संघ", "欧州連合")
_e("Q239", "Brussels", "Brussels", "Brüssel", "Bruxelles", "Bruselas", "Bruxelles", "Bruxelas", "Брюссель", "布鲁塞尔", "بروكسل", "ब्रुसेल्स", "ブリュッセル")
_e("Q31", "Belgium", "Belgium", "Belgien", "Belgique", "Bélgica", "Belgio", "Bélgica", "Бельгия", "比利时", "بلجيكا", "बेल्जियम", "ベルギー")
_e("Q1741", "Vienna", "Vienna", "Wien", "Vienne", "Viena", "Vienna", "Viena", "Вена", "维也纳", "فيينا", "वियना", "ウィーン")
_e("Q40", "Austria", "Austria", "Österreich", "Autriche", "Austria", "Austria", "Áustria", "Австрия", "奥地利", "النمسا", "ऑस्ट्रिया", "オーストリア")
_e("Q11292", "Coral reef", "coral reef", "Korallenriff", "récif corallien", "arrecife de coral", "barriera corallina", "recife de coral", "коралловый риф", "珊瑚礁", "شعاب مرجانية", "प्रवाल भित्ति", "サンゴ礁")
_e("Q7343", "Great Barrier Reef", "Great Barrier Reef", "Great Barrier Reef", "Grande barrière de corail", "Gran Barrera de Coral", "Grande barriera corallina", "Grande Barreira de Coral", "Большой Барьерный риф", "大堡礁", "الحاجز المرجاني العظيم", "ग्रेट बैरियर रीफ़", "グレート・バリア・リーフ")
_e("Q408", "Australia", "Australia", "Australien", "Australie", "Australia", "Australia", "Austrália", "Австралия", "澳大利亚", "أستراليا", "ऑस्ट्रेलिया", "オーストラリア")
_e("Q98", "Pacific Ocean", "Pacific Ocean", "Pazifischer Ozean", "océan Pacifique", "océano Pacífico", "oceano Pacifico", "Oceano Pacífico", "Тихий океан", "太平洋", "المحيط الهادئ", "प्रशान्त महासागर", "太平洋")
_e("Q937", "Albert Einstein", "Albert Einstein", "Albert Einstein", "Albert Einstein", "Albert Einstein", "Albert Einstein", "Albert Einstein", "Альберт Эйнштейн", "阿尔伯特·爱因斯坦", "ألبرت أينشتاين", "अल्बर्ट आइंस्टीन", "アルベルト・アインシュタイン")
_e("Q413", "Physics", "physics", "Physik", "physique", "física", "fisica", "física", "физика", "物理学", "فيزياء", "भौतिक शास्त्र", "物理学")
_e("Q7186", "Marie Curie", "Marie Curie", "Marie Curie", "Marie Curie", "Marie Curie", "Marie Curie", "Marie Curie", "Мария Склодовская-Кюри", "玛丽·居里", "ماري كوري", "मैरी क्यूरी", "マリ・キュリー")
_e("Q36", "Poland", "Poland", "Polen", "Pologne", "Polonia", "Polonia", "Polónia", "Польша", "波兰", "بولندا", "पोलैंड", "ポーランド")
_e("Q270", "Warsaw", "Warsaw", "Warschau", "Varsovie", "Varsovia", "Varsavia", "Varsóvia", "Варшава", "华沙", "وارسو", "वारसा", "ワルシャワ")
_e("Q7191", "Nobel Prize", "Nobel Prize", "Nobelpreis", "prix Nobel", "Premio Nobel", "Premio Nobel", "Prémio Nobel", "Нобелевская премия", "诺贝尔奖", "جائزة نوبل", "नोबेल पुरस्कार", "ノーベル賞")
_e("Q2329", "Chemistry", "chemistry", "Chemie", "chimie", "química", "chimica", "química", "химия", "化学", "كيمياء", "रसायन विज्ञान", "化学")
_e("Q1490", "Tokyo", "Tokyo", "Tokio", "Tokyo", "Tokio", "Tokyo", "Tóquio", "Токио", "东京", "طوكيو", "टोक्यो", "東京")
_e("Q17", "Japan", "Japan", "Japan", "Japon", "Japón", "Giappone", "Japão", "Япония", "日本", "اليابان", "जापान", "日本")
_e("Q39231", "Mount Fuji", "Mount Fuji", "Fuji", "mont Fuji", "monte Fuji", "Fuji", "Monte Fuji", "Фудзияма", "富士山", "جبل فوجي", "फ़ूजी पर्वत", "富士山")
_e("Q649", "Moscow", "Moscow", "Moskau", "Moscou", "Moscú", "Mosca", "Moscovo", "Москва", "莫斯科", "موسكو", "मास्को", "モスクワ")
_e("Q159", "Russia", "Russia", "Russland", "Russie", "Rusia", "Russia", "Rússia", "Россия", "俄罗斯", "روسيا", "रूस", "ロシア")
_e("Q626", "Volga", "Volga", "Wolga", "Volga", "Volga", "Volga", "Volga", "Волга", "伏尔加河", "نهر الفولغا", "वोल्गा नदी", "ヴォルガ川")
_e("Q3392", "Nile", "Nile", "Nil", "Nil", "Nilo", "Nilo", "Nilo", "Нил", "尼罗河", "النيل", "नील नदी", "ナイル川")
_e("Q79", "Egypt", "Egypt", "Ägypten", "Égypte", "Egipto", "Egitto", "Egito", "Египет", "埃及", "مصر", "मिस्र", "エジプト")
_e("Q85", "Cairo", "Cairo", "Kairo", "Le Caire", "El Cairo", "Il Cairo", "Cairo", "Каир", "开罗", "القاهرة", "काहिरा", "カイロ")
_e("Q15", "Africa", "Africa", "Afrika", "Afrique", "África", "Africa", "África", "Африка", "非洲", "أفريقيا", "अफ़्रीका", "アフリカ")
_e("Q55", "Netherlands", "Netherlands", "Niederlande", "Pays-Bas", "Países Bajos", "Paesi Bassi", "Países Baixos", "Нидерланды", "荷兰", "هولندا", "नीदरलैण्ड", "オランダ")
_e("Q1693", "North Sea", "North Sea", "Nordsee", "mer du Nord", "mar del Norte", "mare del Nord", "Mar do Norte", "Северное море", "北海", "بحر الشمال", "उत्तरी सागर", "北海")
_e("Q166", "Black Sea", "Black Sea", "Schwarzes Meer", "mer Noire", "mar Negro", "Mar Nero", "Mar Negro", "Чёрное море", "黑海", "البحر الأسود", "काला सागर", "黒海")
# entities missing several languages
_e("Q2981", "Notre-Dame de Paris", "Notre-Dame de Paris", "Notre-Dame de Paris", "cathédrale Notre-Dame de Paris", "Catedral de Notre Dame", "Notre-Dame de Parigi", "", "Собор Парижской Богоматери", "巴黎圣母院", "", "", "ノートルダム大聖堂")
_e("Q190136", "Île de la Cité", "Île de la Cité", "Île de la Cité", "île de la Cité", "Isla de la Cité", "Île de la Cité")
_e("Q1022", "Spree (river)", "Spree", "Spree", "Spree", "Spree", "", "", "Шпре")
_e("Q5788", "Champ de Mars", "Champ de Mars", "Marsfeld", "Champ-de-Mars")
_e("Q35500", "Ural Mountains", "Ural Mountains", "Ural", "Oural", "Montes Urales", "Urali", "Montes Urais", "Уральские горы", "乌拉尔山脉", "جبال الأورال", "यूराल पर्वत", "ウラル山脈")
_e("Q34640", "English Channel", "English Channel", "Ärmelkanal", "Manche", "canal de la Mancha", "Canale della Manica", "Canal da Mancha", "Ла-Манш", "英吉利海峡", "القناة الإنجليزية", "इंग्लिश चैनल", "イギリス海峡")
_e("Q656", "Saint Petersburg", "Saint Petersburg", "Sankt Petersburg", "Saint-Pétersbourg", "San Petersburgo", "San Pietroburgo", "São Petersburgo", "Санкт-Петербург", "圣彼得堡", "سانت بطرسبرغ", "सेंट पीटर्सबर्ग", "サンクトペテルブルク")
_e("Q20", "Norway", "Norway", "Norwegen", "Norvège", "Noruega", "Norvegia", "Noruega", "Норвегия", "挪威", "النرويج", "नॉर्वे", "ノルウェー")
_e("Q151", "Venus de Milo", "Venus de Milo", "Venus von Milo", "Vénus de Milo", "Venus de Milo", "Venere di Milo", "Vénus de Milo")
_e("Q6017", None, "Le Havre", "Le Havre", "Le Havre", "El Havre")  # no enwiki sitelink in this demo
_e("Q583", "Mont Blanc", "Mont Blanc", "Montblanc", "mont Blanc", "Mont Blanc", "Monte Bianco", "Monte Branco", "Монблан", "勃朗峰", "مون بلان", "मों ब्लां", "モンブラン", **{"zh-hant": "白朗峰", "mul": "Mont Blanc"})


def _xml_page(page_id: int, title: str, ns: int, text: str, redirect: str | None = None) -> str:
    redirect_tag = f'    <redirect title="{escape(redirect, {chr(34): "&quot;"})}" />\n' if redirect else ""
    return (
        f"  <page>\n    <title>{escape(title)}</title>\n    <ns>{ns}</ns>\n    <id>{page_id}</id>\n{redirect_tag}"
        f"    <revision>\n      <id>{page_id * 10}</id>\n      <timestamp>2024-01-01T00:00:00Z</timestamp>\n"
        f'      <model>wikitext</model>\n      <format>text/x-wiki</format>\n'
        f'      <text bytes="{len(text.encode())}" xml:space="preserve">{escape(text)}</text>\n'
        f"    </revision>\n  </page>\n"
    )


SITEINFO = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.10/ http://www.mediawiki.org/xml/export-0.10.xsd" version="0.10" xml:lang="en">
  <siteinfo>
    <sitename>Wikipedia</sitename>
    <dbname>enwiki</dbname>
    <base>https://en.wikipedia.org/wiki/Main_Page</base>
    <generator>MediaWiki 1.41.0</generator>
    <case>first-letter</case>
    <namespaces>
      <namespace key="-2" case="first-letter">Media</namespace>
      <namespace key="-1" case="first-letter">Special</namespace>
      <namespace key="0" case="first-letter" />
      <namespace key="1" case="first-letter">Talk</namespace>
      <namespace key="4" case="first-letter">Wikipedia</namespace>
      <namespace key="6" case="first-letter">File</namespace>
      <namespace key="10" case="first-letter">Template</namespace>
      <namespace key="14" case="first-letter">Category</namespace>
      <namespace key="100" case="first-letter">Portal</namespace>
    </namespaces>
  </siteinfo>
"""


def all_pages() -> list[tuple[int, str, int, str, str | None]]:
    """(page id, title, ns, text, redirect target) of every demo page, in dump order."""
    pages = []
    pid = 1
    for title, text in ARTICLES:
        pages.append((pid, title, 0, text, None))
        pid += 1
    for title, target in REDIRECTS:
        pages.append((pid, title, 0, f"#REDIRECT [[{target}]]\n{{{{R from alternative name}}}}", target))
        pid += 1
    for title, ns, text in OTHER_PAGES:
        pages.append((pid, title, ns, text, None))
        pid += 1
    return pages


def write_multistream(path: Path, pages, per_stream: int = 4) -> Path:
    """Write a multistream .xml.bz2 (header stream, page streams, footer stream) and its index."""
    index_path = Path(str(path).replace("multistream.xml.bz2", "multistream-index.txt.bz2"))
    offset = 0
    index_lines = []
    with open(path, "wb") as out:
        chunk = bz2.compress(SITEINFO.encode())
        out.write(chunk)
        offset += len(chunk)
        for i in range(0, len(pages), per_stream):
            group = pages[i : i + per_stream]
            chunk = bz2.compress("".join(_xml_page(p[0], p[1], p[2], p[3], p[4]) for p in group).encode())
            index_lines += [f"{offset}:{p[0]}:{p[1]}" for p in group]
            out.write(chunk)
            offset += len(chunk)
        out.write(bz2.compress(b"</mediawiki>\n"))
    index_path.write_bytes(bz2.compress(("\n".join(index_lines) + "\n").encode()))
    return index_path


def entity_json(qid: str, title: str | None, labels: dict[str, str]) -> str:
    obj = {
        "type": "item",
        "id": qid,
        "labels": {k: {"language": k, "value": v} for k, v in labels.items()},
        "descriptions": {},
        "aliases": {"en": [{"language": "en", "value": labels.get("en", qid).upper()}]},
        "claims": {},
        "sitelinks": {"enwiki": {"site": "enwiki", "title": title, "badges": []}} if title else {},
    }
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_wikidata(path: Path) -> None:
    lines = [entity_json(*e) for e in ENTITIES]
    # one malformed line (truncated JSON), as a damaged dump would have: rejected with its line number
    lines.insert(7, '{"type":"item","id":"Q999999","labels":{"en":{"language":"en","value":"Broken"}')
    lines.insert(12, '{"type":"property","id":"P31","labels":{"en":{"language":"en","value":"instance of"}},"sitelinks":{}}')
    text = "[\n" + ",\n".join(lines) + "\n]\n"
    path.write_bytes(bz2.compress(text.encode()))


def make_section(data_dir: Path) -> dict:
    wiki_dir = Path(data_dir) / "wiki"
    wiki_dir.mkdir(parents=True, exist_ok=True)
    dump = wiki_dir / "enwiki-demo-pages-articles-multistream.xml.bz2"
    write_multistream(dump, all_pages())
    wikidata = wiki_dir / "wikidata-demo.json.bz2"
    write_wikidata(wikidata)
    return {
        "wiki": {
            "wikipedia": {"inputs": [str(dump)]},
            "wikidata": {"inputs": [str(wikidata)]},
            "export_release": True,
        }
    }
