"""Document fields read from the text: type, years, SIRET, IBAN, signature."""

from __future__ import annotations

from normalize.fields import iban_valid, parse_french_date, read_fields, read_iban


def test_convention_fields() -> None:
    pages = [
        "CONVENTION PLURIANNUELLE D'OBJECTIFS\n2023 – 2025\nCONCLUE AVEC LA METROPOLE X\nEntre\n"
        "N° SIRET : 290 276 252 00019\n",
        "IBAN : FR83 3000 1006 25C2 8575 7874 116\nBIC : BDFEFRPPCCT\nFait à : Marseille le :\n",
    ]
    f = read_fields(pages, "Métropole X")
    assert (f.type_document, f.annee_debut, f.annee_fin) == ("convention", 2023, 2025)
    assert f.siret == "29027625200019"
    assert f.iban == "FR833000100625C285757874116"
    assert f.lieu_signature == "Marseille"
    assert f.date_signature == ""
    assert [p.champ for p in f.placeholders] == ["date_signature"]


def test_avenant_years_follow_the_period_it_funds() -> None:
    pages = [
        "AVENANT N°1 A LA CONVENTION PLURIANNUELLE D'OBJECTIFS\n2023 - 2025\nEntre\n"
        "Au titre de l'année 2023, le soutien de l'État était de 100 000 €.\n"
        "Au titre de l'année 2024-2025, le soutien de l'État s'élève à 200 000 €.\n"
        "Fait à Bellisac, le 1er juillet 2024\n"
    ]
    f = read_fields(pages, "")
    assert (f.type_document, f.annee_debut, f.annee_fin) == ("avenant", 2024, 2025)
    assert (f.lieu_signature, f.date_signature) == ("Bellisac", "2024-07-01")


def test_partnership_and_dates() -> None:
    f = read_fields(["CONVENTION DE PARTENARIAT 2024- 2026\nEntre :\nSigné à Frénaval le 12/06/2024"], "")
    assert (f.type_document, f.annee_debut, f.annee_fin) == ("partenariat", 2024, 2026)
    assert f.date_signature == "2024-06-12"
    assert parse_french_date("le 8 mai 2023") == "2023-05-08"
    assert parse_french_date("le :") == ""


def test_an_iban_the_ocr_misread_is_mended_only_where_the_checksum_agrees() -> None:
    # the scanned AMP convention reads `FRO9` for `FR09`: a letter in the check digits
    assert read_iban("IBAN : FRO9 3000 1005 12C1 3000 0000 002 BIC : BDFEFRPPCCT") == "FR093000100512C130000000002"
    assert iban_valid("FR093000100512C130000000002")
    # a misread the checksum does not confirm is left as printed, for the analyst to see
    assert read_iban("IBAN : FRO9 3000 1005 12C1 3000 0000 003") == "FRO93000100512C130000000003"
    assert read_iban("IBAN FR76 3000 6000 0112 3456 7890 189") == "FR7630006000011234567890189"
