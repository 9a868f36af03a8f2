from casefeedback.cli import main

main()
