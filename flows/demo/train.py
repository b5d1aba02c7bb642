"""Demo section for the train stage: a tiny encoder for a few hundred steps on the demo's shards (CPU,
about a minute) with the cross-lingual mix — MLM, TLM, code-switched and EntityCS masking plus XLCO —
under annealed sampling and masking, then evaluated on held-out data:

- the held-out split (by parent: a held-out pair's code-switched samples are held out with it);
- held-out parallel text in the FLORES layout, written here: 12 sentences in English, German, French
  and Russian that appear nowhere in the demo corpus (original text of this project), alone and as
  two-sentence combinations — scored against chance and a bag-of-subword-ids baseline.

What to expect: the held-out split retrieves its pairs almost perfectly, because the demo's pairs
recombine 48 sentences (a held-out pair's sentences occur in other, trained pairs); the fresh
sentences show the transfer a tiny model gets in 300 steps — a few times chance, near the
bag-of-ids baseline. benchmarks/data_value.py measures the question at a size where it can be answered.

train.seq_len 128 holds encode's longest example (flows/demo/tokens.py: max_tokens 126, 62 per TLM
side), which the config check enforces when the config loads.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

# (eng, deu, fra, rus): not in flows/demo/parallel.py, wiki.py or crawl_text.py.
HELDOUT: list[tuple[str, str, str, str]] = [
    ("The baker opens his shop at six in the morning.", "Der Bäcker öffnet seinen Laden um sechs Uhr morgens.",
     "Le boulanger ouvre sa boutique à six heures du matin.", "Пекарь открывает свою лавку в шесть часов утра."),
    ("Our team won the final match on Sunday.", "Unsere Mannschaft hat am Sonntag das Endspiel gewonnen.",
     "Notre équipe a gagné le match final dimanche.", "Наша команда выиграла финальный матч в воскресенье."),
    ("The old clock in the hall stopped last night.", "Die alte Uhr im Flur ist letzte Nacht stehen geblieben.",
     "La vieille horloge du couloir s'est arrêtée hier soir.", "Старые часы в коридоре остановились прошлой ночью."),
    ("My uncle grows tomatoes and potatoes in his field.",
     "Mein Onkel baut auf seinem Feld Tomaten und Kartoffeln an.",
     "Mon oncle cultive des tomates et des pommes de terre dans son champ.",
     "Мой дядя выращивает помидоры и картофель на своём поле."),
    ("The ship arrived in the harbour after a long journey.", "Das Schiff kam nach einer langen Reise im Hafen an.",
     "Le navire est arrivé au port après un long voyage.", "Корабль прибыл в гавань после долгого путешествия."),
    ("She paints pictures of birds and trees.", "Sie malt Bilder von Vögeln und Bäumen.",
     "Elle peint des tableaux d'oiseaux et d'arbres.", "Она рисует картины с птицами и деревьями."),
    ("The town hall is next to the old market square.", "Das Rathaus liegt neben dem alten Marktplatz.",
     "La mairie se trouve à côté de la vieille place du marché.",
     "Ратуша находится рядом со старой рыночной площадью."),
    ("We watched the stars from the roof of the house.", "Wir haben die Sterne vom Dach des Hauses beobachtet.",
     "Nous avons regardé les étoiles depuis le toit de la maison.", "Мы смотрели на звёзды с крыши дома."),
    ("The nurse brought a glass of water to the patient.", "Die Krankenschwester brachte dem Patienten ein Glas Wasser.",
     "L'infirmière a apporté un verre d'eau au patient.", "Медсестра принесла пациенту стакан воды."),
    ("Snow covered the fields and the roads.", "Schnee bedeckte die Felder und die Straßen.",
     "La neige a recouvert les champs et les routes.", "Снег покрыл поля и дороги."),
    ("The little boy is afraid of the dark.", "Der kleine Junge hat Angst vor der Dunkelheit.",
     "Le petit garçon a peur du noir.", "Маленький мальчик боится темноты."),
    ("They sold their car and bought bicycles.", "Sie haben ihr Auto verkauft und Fahrräder gekauft.",
     "Ils ont vendu leur voiture et acheté des vélos.", "Они продали свою машину и купили велосипеды."),
]
LANGS = ("eng_Latn", "deu_Latn", "fra_Latn", "rus_Cyrl")
N_COMBINED = 48  # two-sentence combinations on top of the 12 single sentences


def write_heldout(folder: Path, n_combined: int = N_COMBINED) -> Path:
    """folder/devtest/<lang>.devtest, line-aligned across the four languages (the FLORES layout)."""
    n = len(HELDOUT)
    combos = sorted(((i, j) for i in range(n) for j in range(n) if i != j),
                    key=lambda ij: hashlib.sha1(f"heldout:{ij[0]}:{ij[1]}".encode()).hexdigest())[:n_combined]
    out = folder / "devtest"
    out.mkdir(parents=True, exist_ok=True)
    for k, lang in enumerate(LANGS):
        lines = [row[k] for row in HELDOUT] + [f"{HELDOUT[i][k]} {HELDOUT[j][k]}" for i, j in combos]
        (out / f"{lang}.devtest").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return out


def make_section(data_dir: Path) -> dict:
    heldout = write_heldout(Path(data_dir) / "heldout")
    return {"train": {
        "size": "tiny", "seq_len": 128, "batch_rows": 8, "steps": 300, "warmup_steps": 30, "lr": 2e-3,
        "log_every": 25, "ckpt_every": 100, "holdout_permille": 50, "eval_max_examples": 256,
        "device": "cpu", "threads": 1,
        "xlco_weight": 1.0, "xlco_pairs": 16, "xlco_queue": 1024, "xlco_momentum": 0.99,
        "alpha_schedule": [[0.0, 0.7], [1.0, 0.3]], "mask_rate_schedule": [[0.0, 0.3], [1.0, 0.15]],
        "eval_parallel": [str(heldout)],
    }}
