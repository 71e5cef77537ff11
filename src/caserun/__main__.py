from caserun.cli import main

main()
