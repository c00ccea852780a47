"""Moodle's question model, shared by the GIFT and Moodle XML packages.

Both of Moodle's formats describe the same questions, so each format's reader fills a
:class:`~assessments.interop.moodle.model.Question` and its writer prints one; between them and
Assay stand the converters:

- :mod:`.model`: the question and answer records, Moodle's grades, categories and item ids;
- :mod:`.text`: Moodle's four text formats as Assay Markdown;
- :mod:`.to_assay`: a Moodle question as an Assay item definition (validated as the bank would);
- :mod:`.numerical`: the numerical type's answers, partial credit and units, into Assay;
- :mod:`.from_assay`: an Assay item (one variant) as a Moodle question.
"""
