"""LTI 1.3 Advantage: Assay as a tool an LMS launches (Core, Deep Linking 2.0, AGS 2.0, NRPS 2.0).

The flow and where it lives:

- ``/api/v1/lti/registrations`` and ``assay lti register``: a platform is its issuer and the
  client_id it gave Assay, with its deployment ids, its login, token and JWKS URLs, and the origins
  that may frame its launches (``service``); or, by Dynamic Registration, the platform registers
  Assay from a one-time link an administrator opens (``/lti/registrations``, ``/lti/register/…``:
  ``registration``).
- ``/lti/jwks``: Assay's RSA keys, kept in the database; the newest unretired key signs;
  ``assay lti rotate-key`` retires the old key after a grace period (``keys``).
- ``/lti/login`` (GET or POST): the platform, client and deployment must be registered and
  ``target_link_uri`` one of our ``/lti/`` URLs; the redirect carries a state (also a cookie
  ``lti1p3-state-<state>``, so the launch must come back to the same browser) and a nonce stored
  server-side with the target, single use, valid ten minutes (``service.login``).
- ``/lti/launch``: every check first (``validation``, ``service.verify_launch``; the id_token
  must name the login's target), then the user (``lti_subject`` is ``<iss>#<sub>``), the course
  (one per platform context, its slug ``lti-`` and random hex), the enrolment with the role its
  context roles give (``roles``: institution and system roles count for nothing) and the resource
  link, whose quiz (or practice) is the ``quiz_id`` (``practice_id``) custom parameter our deep
  linking response put on it. Students land on ``/quizzes/{id}`` (``/practices/{id}``), instructors
  on ``/quizzes/{id}/manage`` (``/practices/{id}/class``).
- ``/lti/deep-link``: an instructor picks a quiz or a practice of the course; the answer is an
  auto-submitting form posting a signed LtiDeepLinkingResponse to the platform (``deep_linking``).
- Grades: :mod:`ags` listens for the attempts' and grading's events (``assessments.events``: an
  attempt finished, a grade changed) and for a practice's progress (its completion, when its
  instructor chose to send it), and queues ``lti.score`` jobs the runner retries with
  backoff; no domain calls LTI. ``ags.poll_scores`` (job ``lti.scores.poll``,
  ``assay lti sync-scores``) catches what no event announced. Rosters: ``nrps.sync_roster`` (job
  ``lti.roster``, ``assay lti sync-roster``).

Launches inside the LMS's frame (``embedding``): the state and session cookies are
``SameSite=None; Secure; Partitioned`` when ``ASSAY_PUBLIC_URL`` is https; where the frame keeps no
cookie, the platform's storage keeps the login's state (``lti_storage_target``, ``lti.put_data``,
``lti.get_data``; ``/lti/launch/verify``) and the session lives in the page.
"""
