"""Content in and out: QTI 3.0 and 2.2 packages, GIFT and Moodle XML.

Every format is a package with the interface of :mod:`assessments.interop.base`: :mod:`.qti`,
:mod:`.gift` and :mod:`.moodlexml`, the last two over Moodle's question model in :mod:`.moodle`.
Imports produce Assay item definitions (plain mappings, as in ``content/``) that the bank then
validates and stores all or nothing; exports take items with one variant each (a computed item
leaves as the fixed variant of the chosen seed, and the report says so).
"""
